import { hash, timingSafeEqual } from 'node:crypto'
import { stripBearerScheme } from '../config.js'

export type BearerCheck = 'ok' | 'missing' | 'empty' | 'mismatch'

/**
 * Checks an Authorization header against the configured token in constant time.
 * Accepted: `Bearer <token>` (scheme in any case, any spacing) and the bare `<token>`, which some
 * client installs send. `Bearer ` with nothing after it is never accepted.
 */
export class BearerVerifier {
  readonly #expected: Buffer

  constructor (token: string) {
    const normalised = stripBearerScheme(token)
    if (normalised === '') throw new RangeError('the bearer token must not be empty')
    this.#expected = sha256(normalised)
  }

  check (header: string | undefined): BearerCheck {
    if (header === undefined) return 'missing'
    const token = stripBearerScheme(header)
    if (token === '') return 'empty'
    return timingSafeEqual(sha256(token), this.#expected) ? 'ok' : 'mismatch'
  }
}

function sha256 (value: string): Buffer {
  return hash('sha256', value, 'buffer')
}
