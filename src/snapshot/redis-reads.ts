import type { Redis } from 'ioredis'
import type { EndedSession } from '../session/session-registry.js'
import { parseEnded, snapshotKeys } from './snapshot-schema.js'

/** Ids read per pipelined round trip. */
const BATCH = 100

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export function * batches<T> (items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += BATCH) yield items.slice(i, i + BATCH)
}

/** A pipeline's replies; throws the first command's error (or when the pipeline was aborted). */
export function unwrap (results: Array<[Error | null, unknown]> | null): unknown[] {
  if (results === null) throw new Error('pipeline aborted')
  return results.map(([err, value]) => {
    if (err !== null) throw err
    return value
  })
}

/**
 * For each of `res`, the sorted distinct first capture groups of the key names matching `pattern`
 * (SCAN, never KEYS).
 */
export async function scanCaptures (client: Redis, pattern: string, res: readonly RegExp[]): Promise<string[][]> {
  const found = res.map(() => new Set<string>())
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      res.forEach((re, i) => {
        const m = re.exec(key)
        if (m) found[i]!.add(m[1]!)
      })
    }
  } while (cursor !== '0')
  return found.map((set) => [...set].sort())
}

/** The ended-session markers of `ids` that are well formed, oldest end first. */
export async function readEndedMarkers (client: Redis, ids: readonly string[]): Promise<EndedSession[]> {
  const ended: EndedSession[] = []
  for (const batch of batches(ids)) {
    const pipeline = client.pipeline()
    for (const id of batch) pipeline.hgetall(snapshotKeys(id).ended)
    const replies = unwrap(await pipeline.exec())
    batch.forEach((id, i) => {
      const marker = parseEnded(id, replies[i] as Record<string, string>)
      if (marker !== undefined) ended.push(marker)
    })
  }
  return ended.sort((a, b) => a.endedAt - b.endedAt)
}
