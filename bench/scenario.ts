import { randomBytes, randomInt } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { PERIODIC, RunContext } from './lib/context.js'
import { cpuSeconds, machineBusySeconds, memoryMb } from './lib/proc.js'
import { CLOSE_WAIT_MS, WavListener, WsListener, type PushCodec, type PushTally } from './lib/push-receivers.js'
import { Receiver } from './lib/receiver.js'
import { sleepUntil } from './lib/scheduler.js'
import { Sharer } from './lib/sharer.js'
import type { BodyEncoding } from './lib/payloads.js'
import { endpointReport, round, summarize, type EndpointReport, type Summary } from './lib/stats.js'

export const USER_AGENT = 'SongRequest Desktop v1.0.0'

export interface ScenarioOptions {
  /** Label used in reports (s1, s2, s3, ramp-L...). */
  scenario: string
  /** Base URL of the server under test, e.g. http://127.0.0.1:5000 (a path prefix is allowed). */
  url: string
  token: string
  sessions: number
  receiversPerSession: number
  durationS: number
  /** Receiver audio poll period: the client's 400 ms, or the spec's 100 ms. */
  audioPollMs?: number
  /** When known, the server's CPU and RSS are read from /proc/<pid>. */
  serverPid?: number
  /** Push listeners per session: WebSocket receivers and real-time stream.wav readers (default 0). */
  wsPerSession?: number
  wavPerSession?: number
  /** What the WebSocket listeners take: float32 PCM frames (default) or Opus frames (`?codec=opus`). */
  codec?: PushCodec
  /** Opus listeners pin this tier (`&bitrate=K`) instead of adapting (the server's adaptive bitrate otherwise moves between the lowest tier and the default). */
  opusBitrate?: number
  /** How sharers write their audio JSON (default plain, as JSON.stringify). */
  bodyEncoding?: BodyEncoding
}

/** What every kind of listener reports about the chunks it got, summed over its kind. */
export interface ChunkCounts {
  failed: number
  chunksExpected: number
  chunksReceived: number
  /** Expected chunks never had (WebSocket: gaps in the sequence numbers; WAV: chunks missing from the stream). */
  lost: number
  lossPct: number
  duplicates: number
  corrupt: number
  /**
   * Sharer POST acknowledged -> the listener has the chunk (WAV: its last byte arrived). Push: negative = before
   * the ack, and only chunks acked in the steady window (joining apart, as joiningDelayMs).
   */
  deliveryDelayMs: Summary
}

/** One push transport's listeners, summed. */
export interface PushReport extends ChunkCounts {
  listeners: number
  /** Connections that ended other than by the session ending (or had to be cut). */
  abnormal: number
  /** Sharer POST sent -> the listener has the chunk. */
  endToEndMs: Summary
  /** deliveryDelayMs of chunks acked while listeners were still joining (reported apart, as warm-up). */
  joiningDelayMs: Summary
  bytesReceived: number
  bytesExpected: number
  readerPauses: number
  outOfOrder: number
  /** Bytes each listener received per second over the steady window (mean over the listeners). */
  bytesPerSPerListener: number
}

/** Opus encoding over the steady window, from the server's /metrics (null when it has no such counters). */
export interface OpusEncodeReport {
  /** musicshare_opus_encode_seconds_total: seconds spent encoding on the encoder threads. */
  encodeSeconds: number
  /** encodeSeconds / window / sessions, in % of one core. */
  cpuPctPerSession: number
  encoders: number
}

export interface ScenarioResult {
  scenario: string
  url: string
  sessions: number
  receiversPerSession: number
  durationS: number
  audioPollMs: number
  startedAt: string
  endpoints: EndpointReport[]
  receivers: ChunkCounts & {
    receivers: number
    formatMismatches: number
    overlappingPolls: number
    metadataAgeMs: Summary
  }
  traffic: { bytesInPerS: number, bytesOutPerS: number }
  server: { pid: number | null, cpuPct: number | null, rssMb: number | null, peakRssMb: number | null }
  /** CPU in % of one core over the steady window: all cores busy, and what neither side used (other work). */
  machine: { cores: number, busyCpuPct: number, othersCpuPct: number }
  generator: { cpuPct: number, sendLatenessMs: Summary }
  /** Only when the run had push listeners. */
  push?: { wsPerSession: number, wavPerSession: number, codec: PushCodec, ws: PushReport, wav: PushReport }
  opus: OpusEncodeReport | null
  /**
   * p99Ms: the worst periodic endpoint p99 (polling runs) or the worst push delivery delay p99 (push runs);
   * lost/lossPct: chunks lost by pollers and push listeners together.
   */
  summary: { p99Ms: number, periodicP99Ms: number, lossPct: number, lost: number, errors: number }
}

/** One sample of the server's Opus counters from /metrics, or undefined (metrics off, or not reachable). */
async function opusCounters (url: string): Promise<{ encodeSeconds: number, encoders: number } | undefined> {
  try {
    const res = await fetch(`${url}/metrics`)
    const text = await res.text()
    if (res.status !== 200) return undefined
    const value = (name: string): number | undefined => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)
      return m?.[1] === undefined ? undefined : Number(m[1])
    }
    const encodeSeconds = value('musicshare_opus_encode_seconds_total')
    return encodeSeconds === undefined ? undefined : { encodeSeconds, encoders: value('musicshare_opus_encoders') ?? 0 }
  } catch {
    return undefined
  }
}

const lossPctOf = (lost: number, expected: number): number => (expected === 0 ? 0 : Math.round((lost / expected) * 1e6) / 1e4)

function pushReport (tallies: readonly PushTally[], steadyS: number): PushReport {
  const sum = (f: (t: PushTally) => number): number => tallies.reduce((a, t) => a + f(t), 0)
  const expected = sum((t) => t.expected)
  const lost = sum((t) => t.lost)
  return {
    listeners: tallies.length,
    failed: tallies.filter((t) => t.failed).length,
    abnormal: tallies.filter((t) => t.abnormal).length,
    chunksExpected: expected,
    chunksReceived: sum((t) => t.received),
    lost,
    lossPct: lossPctOf(lost, expected),
    duplicates: sum((t) => t.duplicates),
    corrupt: sum((t) => t.corrupt),
    deliveryDelayMs: summarize(tallies.flatMap((t) => t.delaysMs)),
    endToEndMs: summarize(tallies.flatMap((t) => t.sinceSentMs)),
    joiningDelayMs: summarize(tallies.flatMap((t) => t.joiningDelaysMs)),
    bytesReceived: sum((t) => t.bytesReceived),
    bytesExpected: sum((t) => t.bytesExpected),
    readerPauses: sum((t) => t.pauses),
    outOfOrder: sum((t) => t.outOfOrder),
    bytesPerSPerListener: tallies.length === 0 ? 0 : Math.round(sum((t) => t.steadyBytes) / tallies.length / steadyS)
  }
}

/** Resolves when every promise settled or `ms` passed, whichever is first. */
async function settleWithin (promises: ReadonlyArray<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([Promise.allSettled(promises), new Promise((resolve) => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}

// Consecutive ids from a random base, never reused within a process (ramp levels start fresh sessions).
let nextSessionId = randomInt(100_000, 800_000)

const JOIN_AT = 1000
const JOIN_SPREAD = 1000

/**
 * Runs one load scenario against `url` and measures it. Timeline (performance.now()):
 * t0: sharers start (staggered over 500 ms); t0+1 s: receivers and push listeners join (staggered over 1 s);
 * t0+duration: sharers stop posting; receivers keep polling a little longer to drain, then sharers stop,
 * which ends the sessions and with them every push connection.
 * The steady window starts 1 s after the last receiver joined (or mid-run for very short runs): CPU,
 * latency and lateness percentiles cover it; earlier latencies are reported apart as warm-up.
 */
export async function runScenario (o: ScenarioOptions): Promise<ScenarioResult> {
  const audioPollMs = o.audioPollMs ?? 400
  const runTag = randomBytes(3).toString('hex')
  const headers = { authorization: `Bearer ${o.token}`, 'user-agent': USER_AGENT }
  const t0 = performance.now() + 200
  const audioEnd = t0 + o.durationS * 1000
  const pollEnd = audioEnd + 2 * audioPollMs + 500
  const steadyFrom = Math.min(t0 + JOIN_AT + JOIN_SPREAD + 1000, (t0 + audioEnd) / 2)
  const ctx = new RunContext(steadyFrom, audioEnd)

  const sharers = Array.from({ length: o.sessions }, (_, i) => new Sharer(ctx, o.url, headers, String(nextSessionId++), i, o.bodyEncoding))
  sharers.forEach((s, i) => s.begin(t0 + (i / o.sessions) * 500, audioEnd))
  const receivers: Receiver[] = []
  const running: Array<Promise<void>> = []
  const wsPer = o.wsPerSession ?? 0
  const wavPer = o.wavPerSession ?? 0
  const ws: WsListener[] = []
  const wav: WavListener[] = []
  const pushRunning: Array<Promise<void>> = []
  const perSession = o.receiversPerSession + wsPer + wavPer
  const total = o.sessions * perSession
  sharers.forEach((s, i) => {
    for (let r = 0; r < perSession; r++) {
      const joinAt = t0 + JOIN_AT + ((i * perSession + r) / total) * JOIN_SPREAD
      const clientHeaders = { ...headers, 'x-client-id': `bench-${runTag}-${s.sessionId}-${r}` }
      if (r < o.receiversPerSession) {
        const rc = new Receiver(ctx, o.url, clientHeaders, s)
        receivers.push(rc)
        running.push(rc.run(joinAt, audioEnd, pollEnd, audioPollMs))
        continue
      }
      if (r < o.receiversPerSession + wsPer) {
        const l = new WsListener(ctx, o.url, clientHeaders, s, o.codec, o.opusBitrate)
        ws.push(l)
        pushRunning.push(l.run(joinAt))
      } else {
        const l = new WavListener(ctx, o.url, clientHeaders, s)
        wav.push(l)
        pushRunning.push(l.run(joinAt))
      }
    }
  })

  await sleepUntil(steadyFrom)
  const opusFrom = await opusCounters(o.url)
  const from = { wall: performance.now(), gen: process.cpuUsage(), server: o.serverPid ? cpuSeconds(o.serverPid) : 0, machine: machineBusySeconds() }
  await sleepUntil(audioEnd)
  const wallS = (performance.now() - from.wall) / 1000
  const genCpu = process.cpuUsage(from.gen)
  const serverCpu = o.serverPid ? cpuSeconds(o.serverPid) - from.server : NaN
  const serverCpuPct = Number.isNaN(serverCpu) ? null : round((serverCpu / wallS) * 100)
  const machineCpuPct = round(((machineBusySeconds() - from.machine) / wallS) * 100)
  const genCpuPct = round(((genCpu.user + genCpu.system) / 1e6 / wallS) * 100)
  const opusTo = opusFrom === undefined ? undefined : await opusCounters(o.url)
  const opus = opusFrom === undefined || opusTo === undefined
    ? null
    : {
        encodeSeconds: round(opusTo.encodeSeconds - opusFrom.encodeSeconds),
        cpuPctPerSession: round(((opusTo.encodeSeconds - opusFrom.encodeSeconds) / wallS / o.sessions) * 100),
        encoders: opusTo.encoders
      }

  await Promise.all(running)
  await ctx.drain()
  await Promise.all(sharers.map((s) => s.stop()))
  await settleWithin(pushRunning, CLOSE_WAIT_MS)
  const elapsedS = (performance.now() - t0) / 1000
  for (const r of receivers) r.close()
  for (const l of [...ws, ...wav]) l.close()

  const tallies = receivers.map((r) => r.tally())
  const sum = (f: (t: (typeof tallies)[number]) => number): number => tallies.reduce((a, t) => a + f(t), 0)
  const endpoints = [...ctx.endpoints.values()].map(endpointReport)
  const chunksExpected = sum((t) => t.expected)
  const lost = sum((t) => t.lost)
  const corrupt = sum((t) => t.corrupt)
  const lossPct = lossPctOf(lost, chunksExpected)
  const steadyS = (audioEnd - steadyFrom) / 1000
  const push = ws.length + wav.length === 0
    ? undefined
    : {
        wsPerSession: wsPer,
        wavPerSession: wavPer,
        codec: o.codec ?? 'pcm',
        ws: pushReport(ws.map((l) => l.tally()), steadyS),
        wav: pushReport(wav.map((l) => l.tally()), steadyS)
      }
  const pushLost = push === undefined ? 0 : push.ws.lost + push.wav.lost
  const pushExpected = push === undefined ? 0 : push.ws.chunksExpected + push.wav.chunksExpected
  const pushP99 = push === undefined ? [] : [push.ws, push.wav].filter((p) => p.deliveryDelayMs.count > 0).map((p) => p.deliveryDelayMs.p99)
  const mem = o.serverPid ? memoryMb(o.serverPid) : undefined
  const periodicP99 = endpoints.filter((e) => PERIODIC.includes(e.endpoint as (typeof PERIODIC)[number])).map((e) => e.latencyMs.p99)

  return {
    scenario: o.scenario,
    url: o.url,
    sessions: o.sessions,
    receiversPerSession: o.receiversPerSession,
    durationS: o.durationS,
    audioPollMs,
    startedAt: new Date().toISOString(),
    endpoints,
    receivers: {
      receivers: receivers.length,
      failed: tallies.filter((t) => t.failed).length,
      chunksExpected,
      chunksReceived: sum((t) => t.received),
      lost,
      lossPct,
      duplicates: sum((t) => t.duplicates),
      corrupt,
      formatMismatches: sum((t) => t.formatMismatches),
      overlappingPolls: sum((t) => t.overlappingPolls),
      deliveryDelayMs: summarize(tallies.flatMap((t) => t.delaysMs)),
      metadataAgeMs: summarize(ctx.metadataAgeMs)
    },
    traffic: {
      bytesInPerS: Math.round(endpoints.reduce((a, e) => a + e.bytesIn, 0) / elapsedS),
      bytesOutPerS: Math.round(endpoints.reduce((a, e) => a + e.bytesOut, 0) / elapsedS)
    },
    server: { pid: o.serverPid ?? null, cpuPct: serverCpuPct, rssMb: mem?.rssMb ?? null, peakRssMb: mem?.peakRssMb ?? null },
    machine: { cores: availableParallelism(), busyCpuPct: machineCpuPct, othersCpuPct: round(machineCpuPct - genCpuPct - (serverCpuPct ?? 0)) },
    generator: {
      cpuPct: genCpuPct,
      sendLatenessMs: summarize([...ctx.endpoints.values()].flatMap((r) => r.lateness))
    },
    ...(push === undefined ? {} : { push }),
    opus,
    summary: {
      p99Ms: push === undefined || pushP99.length === 0 ? Math.max(0, ...periodicP99) : Math.max(...pushP99),
      periodicP99Ms: Math.max(0, ...periodicP99),
      lossPct: lossPctOf(lost + pushLost, chunksExpected + pushExpected),
      lost: lost + pushLost,
      // HTTP failures (non-2xx, resets, timeouts, refused upgrades), chunks whose bytes or fields differed from
      // what was sent (and bad WAV headers), and push connections that ended before their session did.
      errors: endpoints.reduce((a, e) => a + e.errors, 0) + corrupt +
        (push === undefined ? 0 : push.ws.corrupt + push.wav.corrupt + push.ws.abnormal + push.wav.abnormal + push.ws.outOfOrder + push.wav.outOfOrder)
    }
  }
}
