import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Listen keys: HMAC-SHA256 of a session id under a server secret, base64url. A key lets a player or a
 * browser (which cannot send an Authorization header) receive that one session and nothing else.
 * Nothing is stored: a key is recomputed and compared in constant time.
 */
export class ListenKeys {
  readonly #secret: Buffer

  constructor (secret: string) {
    if (secret === '') throw new RangeError('the listen key secret must not be empty')
    this.#secret = Buffer.from(secret, 'utf8')
  }

  keyFor (sessionId: string): string {
    return this.#digest(sessionId).toString('base64url')
  }

  verify (sessionId: string, key: string): boolean {
    const expected = this.#digest(sessionId)
    const given = Buffer.from(key, 'base64url')
    // Buffer.from skips characters outside the alphabet: compare the re-encoded form too.
    return given.length === expected.length && timingSafeEqual(given, expected) && given.toString('base64url') === key
  }

  #digest (sessionId: string): Buffer {
    return createHmac('sha256', this.#secret).update(sessionId, 'utf8').digest()
  }
}

/** A URL (or path) with its query string replaced, so listen keys never reach a log line. */
export function redactQuery (url: string): string {
  const at = url.indexOf('?')
  return at === -1 ? url : `${url.slice(0, at)}?[redacted]`
}
