import { DomainError, type DomainErrorOptions, type ErrorCode } from '../errors.js'
import { cleanChatName, cleanChatText, codePoints, MAX_NAME, MAX_TEXT } from './chat-text.js'
import { TokenBucket, TokenBuckets } from './token-bucket.js'

export interface ChatLimits {
  /** Messages kept per session, oldest dropped first. */
  history: number
  /** One listener's sustained rate (messages per second) and burst. */
  perSecond: number
  burst: number
  /** All listeners of the session together (the sharer is not counted): sustained rate; the burst is four seconds' worth. */
  sessionPerSecond: number
}

/** A message as listeners see it: never who sent it, only whether the sharer did. */
export interface ChatMessage {
  readonly id: number
  readonly name: string
  readonly text: string
  /** Unix ms, the server's clock. */
  readonly sentAt: number
  readonly fromSharer: boolean
}

/** A message and the opaque identity of its sender (for mutes), as the history and the snapshot hold it. */
export interface ChatEntry {
  readonly message: ChatMessage
  readonly sender: string
}

/** Who posts, as the server worked it out (never the client's say): see SenderTags. */
export interface ChatSender {
  /** Opaque per-session identity of the listener: its rate budget and what a mute names. */
  readonly identity: string
  /** Opaque per-session tag of the network (address) it posts from: a shared budget for everything behind it. */
  readonly network: string
  readonly fromSharer: boolean
}

/** The identity the sharer's own messages carry. */
export const SHARER_IDENTITY = 'sharer'

export type ChatRefusal = 'invalid' | 'muted' | 'rate-limited' | 'session-cap'

/** A message the chat would not take, and why (the reason is counted, the code is answered). */
export class ChatRefused extends DomainError {
  override name = 'ChatRefused'

  constructor (readonly reason: ChatRefusal, code: ErrorCode, message: string, options?: DomainErrorOptions) {
    super(code, message, options)
  }
}

/** What a chat snapshot (Redis) brings back: the history, the next id, the muted identities. */
export interface ChatSnapshot {
  readonly nextId: number
  readonly muted: readonly string[]
  /** Oldest first. */
  readonly entries: readonly ChatEntry[]
}

export interface ChatPage {
  messages: ChatMessage[]
  /** More messages follow the last one returned (ask again with its id as `since`). */
  more: boolean
}

/** Everything behind one address gets this many listeners' budgets together (a household, a party on one Wi-Fi). */
export const NETWORK_SHARE = 3
/** Identities whose rate budgets are tracked per session at most. */
const MAX_TRACKED = 1000
/** Muted identities remembered per session at most (the oldest mute is forgotten first). */
export const MAX_MUTED = 1000
const SESSION_BURST_SECONDS = 4

/**
 * One session's chat: its history with per-session increasing ids, the identities the sharer muted, and
 * the budgets (per listener, per network, per session) that keep it readable. Kept with the session and
 * freed with it.
 */
export class ChatLog {
  #entries: ChatEntry[] = []
  #nextId = 1
  #muted = new Set<string>()
  readonly #listeners: TokenBuckets
  readonly #networks: TokenBuckets
  #session: TokenBucket | undefined

  constructor (readonly limits: ChatLimits) {
    this.#listeners = new TokenBuckets(limits.perSecond, limits.burst, MAX_TRACKED)
    this.#networks = new TokenBuckets(limits.perSecond * NETWORK_SHARE, limits.burst * NETWORK_SHARE, MAX_TRACKED)
  }

  get nextId (): number { return this.#nextId }
  get muted (): readonly string[] { return [...this.#muted] }
  /** The history, oldest first. */
  get entries (): readonly ChatEntry[] { return this.#entries }

  /** Cleans, checks and stores a message; throws ChatRefused when it is not taken. */
  post (input: { name: string, text: string }, sender: ChatSender, now: number): ChatEntry {
    const name = cleanChatName(input.name)
    const text = cleanChatText(input.text)
    if (name === '' || codePoints(name) > MAX_NAME) {
      throw new ChatRefused('invalid', 'VALIDATION_ERROR', `name must be 1 to ${MAX_NAME} characters after cleaning`)
    }
    if (text === '' || codePoints(text) > MAX_TEXT) {
      throw new ChatRefused('invalid', 'VALIDATION_ERROR', `text must be 1 to ${MAX_TEXT} characters after cleaning`)
    }
    if (!sender.fromSharer && this.#muted.has(sender.identity)) {
      throw new ChatRefused('muted', 'CHAT_MUTED', 'The sharer muted you in this chat')
    }
    this.#spend(sender, now)
    const entry: ChatEntry = {
      message: { id: this.#nextId++, name, text, sentAt: now, fromSharer: sender.fromSharer },
      sender: sender.fromSharer ? SHARER_IDENTITY : sender.identity
    }
    this.#entries.push(entry)
    if (this.#entries.length > this.limits.history) this.#entries.splice(0, this.#entries.length - this.limits.history)
    return entry
  }

  /**
   * `since` -1: the newest `limit` messages. Otherwise the messages after id `since`, oldest first, at most
   * `limit`, and whether more follow.
   */
  page (since: number, limit: number): ChatPage {
    if (since < 0) return { messages: this.#entries.slice(-limit).map((e) => e.message), more: false }
    const from = this.#entries.findIndex((e) => e.message.id > since)
    if (from < 0) return { messages: [], more: false }
    const entries = this.#entries.slice(from, from + limit)
    return { messages: entries.map((e) => e.message), more: from + limit < this.#entries.length }
  }

  /** Removes one message; throws MESSAGE_NOT_FOUND when the history does not hold it. */
  delete (messageId: number): ChatEntry {
    const entry = this.#find(messageId)
    this.#entries = this.#entries.filter((e) => e !== entry)
    return entry
  }

  /**
   * Mutes whoever sent `messageId`: their later messages are refused, and every message of theirs still in
   * the history is removed (returned, oldest first).
   */
  mute (messageId: number): ChatEntry[] {
    const { sender } = this.#find(messageId)
    if (sender === SHARER_IDENTITY) throw new DomainError('VALIDATION_ERROR', 'The sharer\'s own messages cannot be muted; delete them instead')
    this.#muted.delete(sender)
    this.#muted.add(sender)
    while (this.#muted.size > MAX_MUTED) this.#muted.delete(this.#muted.values().next().value as string)
    const removed = this.#entries.filter((e) => e.sender === sender)
    this.#entries = this.#entries.filter((e) => e.sender !== sender)
    return removed
  }

  /** Brings back a snapshot (a restart, a takeover): ids carry on after the highest one given out. */
  restore (snapshot: ChatSnapshot): void {
    const entries = [...snapshot.entries].sort((a, b) => a.message.id - b.message.id).slice(-this.limits.history)
    this.#entries = entries
    this.#nextId = Math.max(snapshot.nextId, (entries.at(-1)?.message.id ?? 0) + 1, 1)
    this.#muted = new Set(snapshot.muted.slice(-MAX_MUTED))
  }

  /** Frees everything (the session ended). */
  clear (): void {
    this.#entries = []
    this.#muted.clear()
    this.#listeners.clear()
    this.#networks.clear()
    this.#session = undefined
  }

  #find (messageId: number): ChatEntry {
    const entry = this.#entries.find((e) => e.message.id === messageId)
    if (entry === undefined) throw new DomainError('MESSAGE_NOT_FOUND', 'No chat message with this id in the session\'s history')
    return entry
  }

  /** Takes one message from every budget the sender answers to, or none when any of them is empty. */
  #spend (sender: ChatSender, now: number): void {
    const listener = this.#listeners.of(sender.fromSharer ? SHARER_IDENTITY : sender.identity, now)
    // The sharer answers to its own budget only: a crowd filling the session's budget never silences it.
    const budgets: Array<[TokenBucket, ChatRefusal]> = [[listener, 'rate-limited']]
    if (!sender.fromSharer) {
      this.#session ??= new TokenBucket(this.limits.sessionPerSecond,
        Math.max(this.limits.burst, Math.ceil(this.limits.sessionPerSecond * SESSION_BURST_SECONDS)), now)
      budgets.push([this.#networks.of(sender.network, now), 'rate-limited'], [this.#session, 'session-cap'])
    }
    for (const [bucket, reason] of budgets) {
      const waitMs = bucket.waitMs(now)
      if (waitMs === 0) continue
      const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000))
      throw new ChatRefused(reason, 'RATE_LIMITED', reason === 'session-cap'
        ? 'This chat is busy: too many messages from everyone at once; retry shortly'
        : 'Too many messages: slow down and retry shortly', { retryAfterSeconds })
    }
    for (const [bucket] of budgets) bucket.take(now)
  }
}
