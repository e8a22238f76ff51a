/**
 * The chat panel: a name prompt (remembered in localStorage), the live messages (the sharer's marked),
 * and a box to send one. A name or a text is only ever set as textContent, never parsed as markup.
 * Messages arrive as push events (WebSocket or SSE); the history comes from GET chat whenever the event
 * stream (re)opens, and, on the long-poll fallback, a poll of GET chat?since= catches anything missed.
 */

export interface ChatMessage {
  id: number
  name: string
  text: string
  sentAt: number
  fromSharer: boolean
}

export type ChatEvent =
  | { type: 'chat', message: ChatMessage }
  | { type: 'chat-deleted' | 'chat-muted', messageIds: number[] }

export interface ChatElements {
  log: HTMLElement
  note: HTMLElement
  join: HTMLFormElement
  name: HTMLInputElement
  send: HTMLFormElement
  text: HTMLInputElement
  as: HTMLElement
  asName: HTMLElement
  rename: HTMLButtonElement
}

const NAME_KEY = 'musicShare.chatName'
const CLIENT_KEY = 'musicShare.clientId'
/** Messages shown at most (the server keeps 200 by default). */
const MAX_SHOWN = 200
const PAGE = 100
/** Pixels from the bottom within which the log follows new messages. */
const STICKY_PX = 48

/** localStorage can be missing or refuse (private modes, disabled storage): the chat still works. */
function stored (key: string): string | null {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

function store (key: string, value: string): void {
  try {
    localStorage.setItem(key, value)
  } catch {
    // Remembered for this page only.
  }
}

/** This browser's chat identity: random, kept, and only ever a hint (the server decides who is who). */
function clientId (): string {
  let id = stored(CLIENT_KEY)
  if (id === null || !/^[0-9a-f]{32}$/.test(id)) {
    // getRandomValues works outside secure contexts too (randomUUID does not).
    id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
    store(CLIENT_KEY, id)
  }
  return id
}

export class ChatPanel {
  readonly #shown = new Map<number, HTMLLIElement>()
  readonly #client = clientId()
  #name = stored(NAME_KEY)?.trim() ?? ''
  #closed = false

  constructor (readonly el: ChatElements, readonly url: (path: string, query?: string) => string) {
    el.join.addEventListener('submit', (e) => {
      e.preventDefault()
      const name = el.name.value.trim()
      if (name === '') return
      this.#name = name
      store(NAME_KEY, name)
      this.#showForms()
      el.text.focus()
    })
    el.rename.addEventListener('click', () => {
      el.name.value = this.#name
      this.#name = ''
      this.#showForms()
      el.name.focus()
    })
    el.send.addEventListener('submit', (e) => {
      e.preventDefault()
      void this.#post()
    })
    this.#showForms()
  }

  /** The newest page of the history, merged with what is shown: messages removed while away go. */
  async sync (): Promise<void> {
    const before = new Set(this.#shown.keys())
    const page = await this.#fetch('')
    if (page === undefined) return
    const ids = new Set(page.messages.map((m) => m.id))
    // A full page may not reach back to the oldest shown messages: only its own range is known.
    const from = page.messages.length < PAGE ? 0 : (page.messages[0]?.id ?? 0)
    for (const id of before) if (id >= from && !ids.has(id)) this.#remove(id)
    for (const m of page.messages) this.#add(m)
  }

  /** Messages after the newest shown (the long-poll fallback's safety net; duplicates are ignored). */
  async poll (): Promise<void> {
    const newest = Math.max(0, ...this.#shown.keys())
    const page = await this.#fetch(`since=${newest}`)
    for (const m of page?.messages ?? []) this.#add(m)
  }

  onEvent (event: ChatEvent): void {
    if (event.type === 'chat') this.#add(event.message)
    else for (const id of event.messageIds) this.#remove(id)
  }

  /** The share ended (or cannot be listened to): nothing more can be sent. */
  close (note: string): void {
    this.#closed = true
    this.#showForms()
    this.el.note.textContent = note
  }

  async #fetch (query: string): Promise<{ messages: ChatMessage[] } | undefined> {
    try {
      const res = await fetch(this.url('/chat', `limit=${PAGE}${query === '' ? '' : `&${query}`}`), { cache: 'no-store' })
      return res.ok ? await res.json() as { messages: ChatMessage[] } : undefined
    } catch {
      return undefined
    }
  }

  #showForms (): void {
    const { join, send, as, asName } = this.el
    join.hidden = this.#closed || this.#name !== ''
    send.hidden = this.#closed || this.#name === ''
    as.hidden = send.hidden
    asName.textContent = this.#name
  }

  async #post (): Promise<void> {
    const { text, note } = this.el
    const value = text.value.trim()
    if (value === '' || this.#closed) return
    text.disabled = true
    try {
      const res = await fetch(this.url('/chat'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-client-id': this.#client },
        body: JSON.stringify({ name: this.#name, text: value })
      })
      const body = await res.json() as { message?: ChatMessage, code?: string, error?: string }
      if (res.ok && body.message !== undefined) {
        this.#add(body.message)
        text.value = ''
        note.textContent = ''
      } else if (res.status === 429) {
        note.textContent = `You are sending too fast: wait ${res.headers.get('retry-after') ?? 'a few'} s and try again.`
      } else if (body.code === 'CHAT_MUTED') {
        note.textContent = 'The sharer muted you in this chat.'
      } else {
        note.textContent = `Not sent: ${body.error ?? res.status}`
      }
    } catch {
      note.textContent = 'Not sent: the connection was lost. Try again.'
    } finally {
      text.disabled = false
      text.focus()
    }
  }

  /** Shows a message once, in id order, following the bottom of the log if the reader is there. */
  #add (m: ChatMessage): void {
    if (this.#shown.has(m.id)) return
    const { log } = this.el
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < STICKY_PX
    const li = render(m)
    this.#shown.set(m.id, li)
    const after = [...this.#shown.keys()].filter((id) => id > m.id).sort((a, b) => a - b)[0]
    log.insertBefore(li, after === undefined ? null : this.#shown.get(after)!)
    while (this.#shown.size > MAX_SHOWN) this.#remove(Math.min(...this.#shown.keys()))
    if (atBottom) log.scrollTop = log.scrollHeight
  }

  #remove (id: number): void {
    this.#shown.get(id)?.remove()
    this.#shown.delete(id)
  }
}

/** One message's list item, built from text nodes only. */
function render (m: ChatMessage): HTMLLIElement {
  const li = document.createElement('li')
  li.className = m.fromSharer ? 'chat-msg from-sharer' : 'chat-msg'
  li.dataset.id = String(m.id)
  const meta = document.createElement('div')
  meta.className = 'chat-meta'
  const name = document.createElement('span')
  name.className = 'chat-name'
  name.dir = 'auto'
  name.textContent = m.name
  meta.append(name)
  if (m.fromSharer) {
    const badge = document.createElement('span')
    badge.className = 'chat-badge'
    badge.textContent = 'Sharer'
    meta.append(badge)
  }
  const time = document.createElement('time')
  time.dateTime = new Date(m.sentAt).toISOString()
  time.textContent = new Date(m.sentAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  meta.append(time)
  const text = document.createElement('p')
  text.className = 'chat-text'
  text.dir = 'auto'
  text.textContent = m.text
  li.append(meta, text)
  return li
}
