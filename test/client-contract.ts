/**
 * What the desktop client's System.Text.Json deserialisation demands of a response (CLIENT.md):
 * numbers and booleans present and of the right kind (a null or a string throws there), int32 where
 * the C# type is int, an integral timestamp. Throws like the client would.
 */
export interface ClientAudioChunk {
  data: string
  sampleRate: number
  channels: number
  timestamp: number
  sequenceNumber: number
}

const INT32_MAX = 2147483647

function int32 (value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -INT32_MAX - 1 || value > INT32_MAX) {
    throw new TypeError(`${name} is not an int32: ${JSON.stringify(value)}`)
  }
  return value
}

function int64 (value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`${name} is not a long: ${JSON.stringify(value)}`)
  return value
}

function double (value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} is not a double: ${JSON.stringify(value)}`)
  return value
}

function bool (value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} is not a bool: ${JSON.stringify(value)}`)
  return value
}

function nullableString (value: unknown, name: string): string | null {
  if (value !== null && typeof value !== 'string') throw new TypeError(`${name} is not a string: ${JSON.stringify(value)}`)
  return value
}

export function readAudioChunks (body: unknown): ClientAudioChunk[] {
  if (!Array.isArray(body)) throw new TypeError('audio response is not a JSON array')
  return body.map((c: Record<string, unknown>) => ({
    data: nullableString(c.data, 'data') ?? '',
    sampleRate: int32(c.sampleRate, 'sampleRate'),
    channels: int32(c.channels, 'channels'),
    timestamp: int64(c.timestamp, 'timestamp'),
    sequenceNumber: int32(c.sequenceNumber, 'sequenceNumber')
  }))
}

export function readMetadata (m: Record<string, unknown>) {
  return {
    title: nullableString(m.title, 'title'),
    artist: nullableString(m.artist, 'artist'),
    lyrics: nullableString(m.lyrics, 'lyrics'),
    hasSyncedLyrics: bool(m.hasSyncedLyrics, 'hasSyncedLyrics'),
    elapsedSeconds: double(m.elapsedSeconds, 'elapsedSeconds'),
    totalSeconds: double(m.totalSeconds, 'totalSeconds'),
    thumbnailData: nullableString(m.thumbnailData, 'thumbnailData'),
    timestamp: int64(m.timestamp, 'timestamp')
  }
}

export function readStatus (s: Record<string, unknown>) {
  return { isActive: bool(s.isActive, 'isActive'), startTime: int64(s.startTime, 'startTime'), listenerCount: int32(s.listenerCount, 'listenerCount') }
}
