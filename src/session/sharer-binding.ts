import { hash, randomBytes, timingSafeEqual } from 'node:crypto'

/** Who may change a session: the holder of its sharer key, or (depending on the mode) the address that started it. */
export interface SharerBinding {
  /** SHA-256 of the sharer key: the key itself is never kept. */
  readonly keyHash: Buffer
  readonly address: string
}

/**
 * key-or-address: a write carrying the sharer key is the sharer's; one without it is accepted only from
 *   the address that started the session (the desktop client knows nothing of keys).
 * key: only writes carrying the sharer key.
 * off: anyone holding the bearer token (the behaviour before the guard).
 */
export type WriteGuardMode = 'key-or-address' | 'key' | 'off'
export const WRITE_GUARD_MODES: readonly WriteGuardMode[] = ['key-or-address', 'key', 'off']

export type SharerCheck = 'ok' | 'wrong-key' | 'not-sharer'

export function newSharerKey (address: string): { key: string, binding: SharerBinding } {
  const key = randomBytes(24).toString('base64url')
  return { key, binding: { keyHash: hashKey(key), address } }
}

export function hashKey (key: string): Buffer {
  return hash('sha256', key, 'buffer')
}

/** Decides whether a write may change the session bound to `binding`. A session without one (restored from an older snapshot) is open. */
export function checkSharer (
  mode: WriteGuardMode,
  binding: SharerBinding | undefined,
  presentedKey: string | undefined,
  address: string
): SharerCheck {
  if (mode === 'off' || binding === undefined) return 'ok'
  const key = checkSharerKey(binding, presentedKey)
  if (key !== 'missing') return key
  return mode === 'key-or-address' && address === binding.address ? 'ok' : 'not-sharer'
}

/**
 * Whether a request holds the session's sharer key, whatever SESSION_WRITE_GUARD says: for what only
 * the key's holder may do (moderating the chat, being marked as the sharer in it). A session without a
 * binding (restored from an older snapshot) has no key anyone could hold.
 */
export function checkSharerKey (binding: SharerBinding | undefined, presentedKey: string | undefined): 'ok' | 'wrong-key' | 'missing' {
  if (presentedKey === undefined || presentedKey === '') return 'missing'
  if (binding === undefined) return 'wrong-key'
  return timingSafeEqual(hashKey(presentedKey), binding.keyHash) ? 'ok' : 'wrong-key'
}
