import type { BufferedChunk } from '../session/audio-ring.js'
import type { EndedSession, EndReason, RestoredChunk, SessionSnapshot } from '../session/session-registry.js'
import type { ShareSession, SongMetadata, StoredMetadata } from '../session/session.js'
import type { SharerBinding } from '../session/sharer-binding.js'
import type { ChatEntry, ChatSnapshot } from '../chat/chat-log.js'
import { songEntriesOf, type SongEntry } from '../history/song-history.js'

/**
 * The Redis layout of a session snapshot: the spec's "Redis Schema" plus what a restore needs.
 *
 *   session:{id}           hash    active, startTime, lastActivity, listenerCount, lastSequence, bytesReceived,
 *                                  chunksReceived, sampleRate, channels, sharerKeyHash, sharerAddress, recording (on|off),
 *                                  chatNextId, chatMuted (JSON array of muted sender tags), both once the chat is used
 *                                                                                 TTL: what is left of the session timeout
 *   session:{id}:metadata  hash    the spec's metadata fields + receivedAt       TTL: what is left of the metadata TTL
 *   session:{id}:audio     stream  sequenceNumber, timestamp, sampleRate, channels, data (raw float32 bytes),
 *                                  capped with XADD MAXLEN ~                      TTL: 10 s after the last chunk
 *   session:{id}:history   string  the song history, a JSON array of plays       TTL: as session:{id}
 *   session:{id}:ended     hash    startTime, endedAt, reason, durationSeconds, bytesTransferred, bytesSent,
 *                                  history (JSON, when it played anything)        TTL: what is left of the retention
 *   session:{id}:claim     string  the instance that owns the session, since which epoch, and its start record
 *                                  (see cluster-claims.ts)                        TTL as session:{id}
 *   session:{id}:chat      list    one JSON per chat message {id, name, text, sentAt, fromSharer, sender}, oldest
 *                                  first, LTRIM to the history                    TTL: as session:{id}
 *
 * Times are epoch milliseconds; booleans are "true"/"false".
 */
export function snapshotKeys (id: string) {
  const session = `session:${id}`
  return {
    session,
    metadata: `${session}:metadata`,
    audio: `${session}:audio`,
    history: `${session}:history`,
    ended: `${session}:ended`,
    claim: `${session}:claim`,
    chat: `${session}:chat`
  }
}

/** The spec's TTL for the audio stream: entries older than this are of no use to a receiver. */
export const AUDIO_STREAM_TTL_MS = 10_000

/** Keys the restore scans for: active sessions and ended markers. */
export const SESSION_KEY = /^session:(\d{6})$/
export const ENDED_KEY = /^session:(\d{6}):ended$/

/** A hash's fields as HSET's arguments: field, value, field, value, ... */
export function flatFields (fields: Record<string, string>): string[] {
  return Object.entries(fields).flat()
}

export function sessionFields (session: ShareSession, now: number): Record<string, string> {
  const fields: Record<string, string> = {
    active: 'true',
    startTime: String(session.startTime),
    lastActivity: String(session.lastActivity),
    listenerCount: String(session.listeners.count(now)),
    lastSequence: String(session.lastSequence),
    bytesReceived: String(session.bytesReceived),
    chunksReceived: String(session.chunksReceived)
  }
  const format = session.audio.format
  if (format !== undefined) {
    fields.sampleRate = String(format.sampleRate)
    fields.channels = String(format.channels)
  }
  // Who may write survives a restart: the key's hash (never the key) and the starting address.
  if (session.sharer !== undefined) {
    fields.sharerKeyHash = session.sharer.keyHash.toString('hex')
    fields.sharerAddress = session.sharer.address
  }
  // The chat's ids never go back, even when its newest messages were deleted; mutes hold after a restore.
  const { chat } = session
  if (chat.nextId > 1) fields.chatNextId = String(chat.nextId)
  if (chat.muted.length > 0) fields.chatMuted = JSON.stringify(chat.muted)
  // The sharer's say on recording: a takeover must not record a session that opted out.
  if (session.recordingPreference !== undefined) fields.recording = session.recordingPreference ? 'on' : 'off'
  return fields
}

/** One chat message as the chat list holds it: always the same text for the same entry (LREM finds it by value). */
export function chatEntryJson (entry: ChatEntry): string {
  const { id, name, text, sentAt, fromSharer } = entry.message
  return JSON.stringify({ id, name, text, sentAt, fromSharer, sender: entry.sender })
}

function parseChatEntry (json: string): ChatEntry | undefined {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { id, name, text, sentAt, fromSharer, sender } = value as Record<string, unknown>
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1 || typeof name !== 'string' || typeof text !== 'string' ||
    typeof sentAt !== 'number' || !Number.isSafeInteger(sentAt) || typeof fromSharer !== 'boolean' || typeof sender !== 'string') {
    return undefined
  }
  return { message: { id, name, text, sentAt, fromSharer }, sender }
}

/** The chat of a session snapshot: its next id and mutes from the hash, its messages from the list (bad ones dropped). */
function parseChat (hash: Record<string, string>, list: readonly string[]): ChatSnapshot {
  let muted: string[] = []
  if (hash.chatMuted !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(hash.chatMuted)
    } catch {
      parsed = undefined
    }
    if (!Array.isArray(parsed) || !parsed.every((m) => typeof m === 'string')) throw new BadSnapshot('chatMuted is not a JSON array of strings')
    muted = parsed as string[]
  }
  return {
    nextId: hash.chatNextId === undefined ? 1 : int(hash, 'chatNextId', 1),
    muted,
    entries: list.map(parseChatEntry).filter((e): e is ChatEntry => e !== undefined)
  }
}

function parseSharer (hash: Record<string, string>): SharerBinding | undefined {
  const { sharerKeyHash, sharerAddress } = hash
  if (sharerKeyHash === undefined || sharerAddress === undefined) return undefined
  if (!/^[0-9a-f]{64}$/.test(sharerKeyHash)) throw new BadSnapshot('sharerKeyHash is not a SHA-256 hex digest')
  return { keyHash: Buffer.from(sharerKeyHash, 'hex'), address: sharerAddress }
}

/** Null fields (no lyrics, no thumbnail) are left out, and read back as null. */
export function metadataFields (stored: StoredMetadata): Record<string, string> {
  const m = stored.value
  const fields: Record<string, string> = {
    title: m.title,
    artist: m.artist,
    hasSyncedLyrics: String(m.hasSyncedLyrics),
    elapsedSeconds: String(m.elapsedSeconds),
    totalSeconds: String(m.totalSeconds),
    timestamp: String(m.timestamp),
    receivedAt: String(stored.receivedAt)
  }
  if (m.lyrics !== null) fields.lyrics = m.lyrics
  if (m.thumbnailData !== null) fields.thumbnailData = m.thumbnailData
  return fields
}

export function endedFields (ended: EndedSession): Record<string, string> {
  const fields: Record<string, string> = {
    startTime: String(ended.startTime),
    endedAt: String(ended.endedAt),
    reason: ended.reason,
    durationSeconds: String(ended.durationSeconds),
    bytesTransferred: String(ended.bytesTransferred),
    bytesSent: String(ended.bytesSent)
  }
  if (ended.history !== undefined && ended.history.length > 0) fields.history = JSON.stringify(ended.history)
  return fields
}

/**
 * A song history read back: the well-formed plays of the JSON array, in order. Anything else (no key, bad
 * JSON, a malformed entry) is left out rather than failing the snapshot: the history is not worth a session.
 */
export function parseHistory (text: string | null | undefined): SongEntry[] {
  if (text === null || text === undefined) return []
  try {
    return songEntriesOf(JSON.parse(text))
  } catch {
    return []
  }
}

/** XADD field/value pairs of one chunk; `samples` are stored as their raw little-endian float32 bytes. */
export function audioEntryFields (chunk: BufferedChunk, samples: Float32Array): Array<string | Buffer> {
  return [
    'sequenceNumber', String(chunk.sequenceNumber),
    'timestamp', String(chunk.timestamp),
    'sampleRate', String(chunk.format.sampleRate),
    'channels', String(chunk.format.channels),
    'data', Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)
  ]
}

class BadSnapshot extends Error {}

function int (fields: Record<string, string>, name: string, min = 0): number {
  const n = Number(fields[name])
  if (fields[name] === undefined || !Number.isSafeInteger(n) || n < min) throw new BadSnapshot(`${name}=${JSON.stringify(fields[name] ?? null)}`)
  return n
}

function num (fields: Record<string, string>, name: string): number {
  const n = Number(fields[name])
  if (fields[name] === undefined || fields[name] === '' || !Number.isFinite(n)) throw new BadSnapshot(`${name}=${JSON.stringify(fields[name] ?? null)}`)
  return n
}

function str (fields: Record<string, string>, name: string): string {
  const s = fields[name]
  if (s === undefined) throw new BadSnapshot(`${name} is missing`)
  return s
}

function parseMetadata (fields: Record<string, string>): { value: SongMetadata, receivedAt: number } {
  return {
    value: {
      title: str(fields, 'title'),
      artist: str(fields, 'artist'),
      lyrics: fields.lyrics ?? null,
      hasSyncedLyrics: fields.hasSyncedLyrics === 'true',
      elapsedSeconds: num(fields, 'elapsedSeconds'),
      totalSeconds: num(fields, 'totalSeconds'),
      thumbnailData: fields.thumbnailData ?? null,
      timestamp: int(fields, 'timestamp')
    },
    receivedAt: int(fields, 'receivedAt')
  }
}

/** Stream entries as XRANGE returns them with Buffer replies: [id, [name, value, name, value, ...]]. */
export type AudioEntry = [id: Buffer, fields: Buffer[]]

function parseChunk ([, raw]: AudioEntry): RestoredChunk {
  const fields: Record<string, string> = {}
  let data: Buffer | undefined
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString()
    if (name === 'data') data = raw[i + 1]!
    else fields[name] = raw[i + 1]!.toString()
  }
  const format = { sampleRate: int(fields, 'sampleRate', 8000), channels: int(fields, 'channels', 1) }
  if (format.sampleRate > 192_000 || format.channels > 8) throw new BadSnapshot('audio format out of range')
  if (data === undefined || data.length === 0 || data.length % (4 * format.channels) !== 0) {
    throw new BadSnapshot('audio data is not whole frames of float32 samples')
  }
  // Copied so the samples are 4-byte aligned and do not keep Redis's reply buffer alive.
  const bytes = new Uint8Array(data.length)
  bytes.set(data)
  return {
    samples: new Float32Array(bytes.buffer),
    format,
    timestamp: int(fields, 'timestamp'),
    sequenceNumber: int(fields, 'sequenceNumber')
  }
}

/**
 * Reads one session's keys back into a snapshot. Returns an error message for a snapshot that cannot be
 * trusted (missing or malformed fields) instead of throwing, so one bad key never blocks the others.
 * Bad audio entries and chat messages are dropped; the session is still restored without them.
 */
export function parseSession (
  id: string,
  hash: Record<string, string>,
  metadata: Record<string, string>,
  audio: readonly AudioEntry[],
  chat: readonly string[],
  history?: string | null
): { snapshot: SessionSnapshot, droppedChunks: number } | { error: string } {
  try {
    if (hash.active !== 'true') throw new BadSnapshot('not active')
    const chunks: RestoredChunk[] = []
    let droppedChunks = 0
    for (const entry of audio) {
      try {
        chunks.push(parseChunk(entry))
      } catch (err) {
        if (!(err instanceof BadSnapshot)) throw err
        droppedChunks++
      }
    }
    const snapshot: SessionSnapshot = {
      id,
      sharer: parseSharer(hash),
      startTime: int(hash, 'startTime'),
      lastActivity: int(hash, 'lastActivity'),
      lastSequence: int(hash, 'lastSequence', -1),
      bytesReceived: int(hash, 'bytesReceived'),
      chunksReceived: int(hash, 'chunksReceived'),
      metadata: Object.keys(metadata).length === 0 ? undefined : parseMetadata(metadata),
      chat: parseChat(hash, chat),
      history: parseHistory(history),
      recordingPreference: hash.recording === 'on' ? true : hash.recording === 'off' ? false : undefined,
      chunks
    }
    return { snapshot, droppedChunks }
  } catch (err) {
    if (err instanceof BadSnapshot) return { error: err.message }
    throw err
  }
}

export function parseEnded (id: string, hash: Record<string, string>): EndedSession | undefined {
  try {
    const reason = str(hash, 'reason')
    if (reason !== 'stopped' && reason !== 'expired') return undefined
    return {
      id,
      startTime: int(hash, 'startTime'),
      endedAt: int(hash, 'endedAt'),
      reason: reason as EndReason,
      durationSeconds: num(hash, 'durationSeconds'),
      bytesTransferred: int(hash, 'bytesTransferred'),
      bytesSent: int(hash, 'bytesSent'),
      history: parseHistory(hash.history)
    }
  } catch (err) {
    if (err instanceof BadSnapshot) return undefined
    throw err
  }
}
