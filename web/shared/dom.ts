/** The page element with this id; a page whose markup lacks it is a bug, said at once. */
export const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`#${id} is missing`)
  return el as T
}

/** The content of `<meta name="…">`, where the server tells a page its settings ('' when absent). */
export const meta = (name: string): string => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? ''
