import type { Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { clientChunk, JSON_HEADERS } from './helper.js'
import type { LocalCluster } from '../bench/lib/cluster.js'
import { clusterSkip, startCluster as startLocalCluster } from './local-cluster.js'

/** What the cluster tests share: three built instances on one Redis behind HAProxy, and a sharer that never gives up. */
/** Why the cluster tests are skipped (a Debian package missing), or false. */
export const skip = clusterSkip
export const CHUNK_EVERY_MS = 100
export const POLL_EVERY_MS = 80
export const FLUSH_MS = 50

/** The local cluster (test/local-cluster.ts) with a fast Redis flush and budgets that let the tests' own load through. */
export function startCluster (t: Test, env: Record<string, string> = {}): Promise<LocalCluster> {
  return startLocalCluster(t, {
    REDIS_FLUSH_INTERVAL_MS: String(FLUSH_MS),
    AUDIO_BUFFER_SECONDS: '30',
    RATE_LIMIT_AUDIO_PER_SECOND: '100',
    RATE_LIMIT_POLLS_PER_SECOND: '100',
    RATE_LIMIT_METADATA_PER_SECOND: '100',
    ...env
  })
}

/** `n` random session ids. */
export const ids = (n: number) => {
  const base = 100_000 + Math.floor(Math.random() * 800_000)
  return Array.from({ length: n }, (_, i) => String(base + i * 7))
}

export interface Post { seq: number, at: number, by: string }
export interface Refusal { seq: number, at: number, why: string }

/**
 * The sharer as the desktop client behaves (CLIENT.md): one chunk every CHUNK_EVERY_MS, the metadata
 * after every `metadataEvery`-th, errors only recorded (it never re-registers). `stop()` ends it.
 */
export function sharerLoop (api: (path: string) => string, meta: object, metadataEvery: number) {
  const audio = { accepted: [] as Post[], failed: [] as Refusal[] }
  const metadata = { accepted: [] as Post[], failed: [] as Refusal[] }
  let sharing = true
  const post = async (to: typeof audio, seq: number, path: string, body: object) => {
    try {
      const res = await fetch(api(path), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) })
      const text = await res.text()
      if (res.status === 200) to.accepted.push({ seq, at: Date.now(), by: res.headers.get('x-instance-id')! })
      else to.failed.push({ seq, at: Date.now(), why: `${res.status} ${text}` })
    } catch (err) {
      to.failed.push({ seq, at: Date.now(), why: String(err) })
    }
  }
  const running = (async () => {
    for (let seq = 0; sharing; seq++) {
      await post(audio, seq, '/audio', clientChunk(seq))
      if (seq % metadataEvery === metadataEvery - 1) await post(metadata, seq, '/metadata', meta)
      await sleep(CHUNK_EVERY_MS)
    }
  })()
  return {
    audio,
    metadata,
    /** Every POST refused or failed from `since` on. */
    refusedSince: (since: number) => [...audio.failed, ...metadata.failed].filter((f) => f.at >= since),
    /** The first POST (either kind) accepted after `since` by another instance than `other`. */
    firstAcceptedAfter: (since: number, other: string) =>
      [...audio.accepted, ...metadata.accepted].filter((a) => a.at > since && a.by !== other).sort((a, b) => a.at - b.at)[0],
    stop: async () => { sharing = false; await running }
  }
}

