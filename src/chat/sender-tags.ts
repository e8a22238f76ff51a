import { createHmac } from 'node:crypto'
import { SHARER_IDENTITY, type ChatSender } from './chat-log.js'

/**
 * Turns what the server knows of a request (its receiver key and address) into the opaque tags a chat
 * keeps: keyed HMACs, per session, so a tag says nothing of the address behind it, links nobody across
 * sessions, and is the same on every instance that shares the secret (LISTEN_KEY_SECRET), so mutes
 * survive a restart and a takeover as listen keys do. A name a client chooses is never part of it.
 */
export class SenderTags {
  readonly #key: Buffer

  constructor (secret: string) {
    this.#key = createHmac('sha256', secret).update('music-share chat sender tags').digest()
  }

  of (sessionId: string, receiverKey: string, address: string, fromSharer: boolean): ChatSender {
    if (fromSharer) return { identity: SHARER_IDENTITY, network: SHARER_IDENTITY, fromSharer: true }
    return {
      identity: 'l:' + this.#tag(`${sessionId}\n${receiverKey}`),
      network: 'n:' + this.#tag(`${sessionId}\n${address}`),
      fromSharer: false
    }
  }

  #tag (value: string): string {
    return createHmac('sha256', this.#key).update(value).digest('base64url').slice(0, 22)
  }
}
