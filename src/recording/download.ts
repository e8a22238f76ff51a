/**
 * What a download of a recording is called and which of its bytes are asked for: the file name (by date
 * and session), a `Range: bytes=…` header against the file's size, and the CUE sheet of its chapters.
 */

/** `musicshare-123456-2026-11-28T09-50-41Z.ogg`: the session and when it started (UTC); ASCII only. */
export function downloadName (sessionId: string, startedAt: number, extension: 'ogg' | 'cue'): string {
  const stamp = new Date(startedAt).toISOString().slice(0, 19).replace(/:/g, '-')
  return `musicshare-${sessionId}-${stamp}Z.${extension}`
}

export type ByteRange = { readonly start: number, readonly end: number }

/**
 * One `bytes=` range of a file of `size` bytes (RFC 9110 14.1.2): `a-b`, `a-` or `-n` (the last n), its end
 * clamped to the file. undefined: no Range header, or one to ignore (another unit, several ranges, bad
 * syntax): the whole file is sent. 'unsatisfiable': the range starts at or past the end (416).
 */
export function parseByteRange (header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (m === null || (m[1] === '' && m[2] === '')) return undefined
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? Number.POSITIVE_INFINITY : Number(m[2])
  if (end < start) return undefined
  if (start >= size) return 'unsatisfiable'
  return { start, end: Math.min(end, size - 1) }
}

export interface Chapter {
  /** Seconds into the recording. */
  readonly at: number
  readonly title: string
  readonly artist: string
}

/** CUE has no escape for `"`: it becomes `'`, and line breaks become spaces. */
const cueText = (text: string) => text.replace(/"/g, '\'').replace(/[\r\n]+/g, ' ')

/** mm:ss:ff, ff in CD frames (1/75 s). */
function cueTime (seconds: number): string {
  const frames = Math.round(seconds * 75)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(Math.floor(frames / 4500))}:${pad(Math.floor(frames / 75) % 60)}:${pad(frames % 75)}`
}

/** A CUE sheet: one track per chapter of the recording `fileName`. */
export function cueSheet (sessionId: string, startedAt: number, fileName: string, chapters: readonly Chapter[]): string {
  const lines = [
    `REM COMMENT "Music Share recording of session ${sessionId}"`,
    `REM DATE ${new Date(startedAt).toISOString().slice(0, 10)}`,
    `TITLE "Music Share ${sessionId} ${new Date(startedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC"`,
    // No CUE file type names Ogg; WAVE is what players read as "any audio file".
    `FILE "${cueText(fileName)}" WAVE`
  ]
  chapters.forEach((c, i) => {
    lines.push(
      `  TRACK ${String(i + 1).padStart(2, '0')} AUDIO`,
      `    TITLE "${cueText(c.title)}"`,
      `    PERFORMER "${cueText(c.artist)}"`,
      `    INDEX 01 ${cueTime(c.at)}`
    )
  })
  return lines.join('\r\n') + '\r\n'
}
