import type { PushReport, ScenarioResult } from '../scenario.js'

const pad = (v: unknown, w: number): string => String(v).padStart(w)
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1)
const na = (v: number | null): string => (v === null ? 'NA' : String(v))

/** The human-readable table for one run. */
export function formatScenario (r: ScenarioResult, target: string): string {
  const lines = [
    `== ${r.scenario} against ${target} (${r.url}): ${r.sessions} sessions x ${r.receiversPerSession} receivers` +
      (r.push === undefined ? '' : ` + ${r.push.wsPerSession} WebSocket (${r.push.codec}) + ${r.push.wavPerSession} stream.wav listeners`) +
      `, ${r.durationS} s, audio poll ${r.audioPollMs} ms`,
    `${'endpoint'.padEnd(14)}${pad('requests', 9)}${pad('req/s', 8)}${pad('p50', 8)}${pad('p95', 8)}${pad('p99', 8)}${pad('max', 8)}` +
      `${pad('late99', 8)}${pad('warm99', 8)}${pad('errors', 7)}  statuses`,
    '  (latency ms, request start to last byte, steady window; late99 = send lateness p99; warm99 = p99 while receivers joined)'
  ]
  for (const e of r.endpoints) {
    const l = e.latencyMs
    const v = (n: number): string => (l.count === 0 ? '-' : String(n))
    lines.push(`${e.endpoint.padEnd(14)}${pad(e.requests, 9)}${pad(e.reqPerS, 8)}${pad(v(l.p50), 8)}${pad(v(l.p95), 8)}${pad(v(l.p99), 8)}` +
      `${pad(v(l.max), 8)}${pad(e.sendLatenessMs.p99, 8)}${pad(e.warmupLatencyMs.p99, 8)}${pad(e.errors, 7)}  ${JSON.stringify(e.statuses)}`)
  }
  const x = r.receivers
  lines.push(
    `receivers ${x.receivers} (failed ${x.failed}): chunks expected ${x.chunksExpected}, received ${x.chunksReceived}, lost ${x.lost} ` +
      `(${x.lossPct} %), duplicates ${x.duplicates}, corrupt ${x.corrupt}, format mismatches ${x.formatMismatches}, overlapping polls ${x.overlappingPolls}`,
    `delivery delay ms (sharer POST acked -> first receipt): p50 ${x.deliveryDelayMs.p50}, p95 ${x.deliveryDelayMs.p95}, max ${x.deliveryDelayMs.max}; ` +
      `metadata age ms at receipt: p50 ${x.metadataAgeMs.p50}, p95 ${x.metadataAgeMs.p95}, max ${x.metadataAgeMs.max}`,
    ...(r.push === undefined ? [] : [formatPush('WebSocket', r.push.ws), formatPush('stream.wav', r.push.wav)]),
    ...(r.opus === null || r.opus.encodeSeconds === 0
      ? []
      : [`Opus encoding (/metrics, steady window): ${r.opus.encodeSeconds} s on the encoder threads, ` +
          `${r.opus.cpuPctPerSession} % of one core per session (${r.opus.encoders} encoders at the end)`]),
    `traffic (generator side, bodies): in ${mb(r.traffic.bytesInPerS)} MB/s, out ${mb(r.traffic.bytesOutPerS)} MB/s`,
    `server pid ${na(r.server.pid)}: CPU ${na(r.server.cpuPct)} % of one core, RSS ${na(r.server.rssMb)} MB (peak ${na(r.server.peakRssMb)} MB); ` +
      `generator: CPU ${r.generator.cpuPct} %, send lateness p50 ${r.generator.sendLatenessMs.p50} / p99 ${r.generator.sendLatenessMs.p99} / max ${r.generator.sendLatenessMs.max} ms`,
    `machine (${r.machine.cores} cores): ${r.machine.busyCpuPct} % busy (100 % = one core), of which ${r.machine.othersCpuPct} % by other processes`
  )
  return lines.join('\n')
}

function formatPush (transport: 'WebSocket' | 'stream.wav', p: PushReport): string {
  const d = p.deliveryDelayMs
  const e = p.endToEndMs
  const wav = transport === 'stream.wav'
  return `${transport} listeners ${p.listeners} (failed ${p.failed}, ended early ${p.abnormal}): chunks expected ${p.chunksExpected}, ` +
    `received ${p.chunksReceived}, ${wav ? 'missing' : 'dropped (sequence gaps)'} ${p.lost} (${p.lossPct} %), duplicates ${p.duplicates}, ` +
    `corrupt ${p.corrupt}, out of order ${p.outOfOrder}; ${(p.bytesPerSPerListener / 1000).toFixed(1)} KB/s per listener (steady window)\n  delivery delay ms (sharer POST acked -> ${wav ? 'last byte of the chunk' : 'frame'} received): ` +
    `p50 ${d.p50}, p95 ${d.p95}, p99 ${d.p99}, max ${d.max} (${d.count} chunks; negative: before the POST's response); ` +
    `from POST sent: p50 ${e.p50}, p99 ${e.p99}, max ${e.max}; while listeners joined: p99 ${p.joiningDelayMs.p99} (${p.joiningDelayMs.count})` +
    (wav
      ? `; bytes ${mb(p.bytesReceived)} MB of ${mb(p.bytesExpected)} MB real-time (` +
        `${p.bytesExpected === 0 ? 'NA' : ((p.bytesReceived / p.bytesExpected) * 100).toFixed(2)} %), reader pauses ${p.readerPauses}`
      : '')
}

/** Key figures of several runs of the same scenario, one column per target. */
export function formatSideBySide (runs: ReadonlyArray<{ target: string, result: ScenarioResult }>): string {
  const rows: Array<[string, (r: ScenarioResult) => string | number]> = [
    ['worst periodic p99 ms', (r) => r.summary.periodicP99Ms],
    ['summary p99 ms', (r) => r.summary.p99Ms],
  ['receivers joining p99 ms', (r) => Math.max(0, ...r.endpoints.map((e) => e.warmupLatencyMs.p99))],
    ...['POST metadata', 'POST audio', 'GET metadata', 'GET audio'].map((name): [string, (r: ScenarioResult) => string | number] =>
      [`${name} p50/p99 ms`, (r) => { const e = r.endpoints.find((x) => x.endpoint === name); return e ? `${e.latencyMs.p50}/${e.latencyMs.p99}` : '-' }]),
    ['loss %', (r) => r.summary.lossPct],
    ['errors', (r) => r.summary.errors],
    ['delivery delay p95 ms', (r) => r.receivers.deliveryDelayMs.p95],
    ['WS codec', (r) => r.push?.codec ?? '-'],
    ['WS delivery p50/p99 ms', (r) => (r.push === undefined ? '-' : `${r.push.ws.deliveryDelayMs.p50}/${r.push.ws.deliveryDelayMs.p99}`)],
    ['WS KB/s per listener', (r) => (r.push === undefined ? '-' : (r.push.ws.bytesPerSPerListener / 1000).toFixed(1))],
    ['WS dropped/out of order', (r) => (r.push === undefined ? '-' : `${r.push.ws.lost}/${r.push.ws.outOfOrder}`)],
    ['Opus encode % core/sess', (r) => (r.opus === null ? '-' : r.opus.cpuPctPerSession)],
    ['server CPU % (1 core)', (r) => na(r.server.cpuPct)],
    ['server peak RSS MB', (r) => na(r.server.peakRssMb)],
    ['generator CPU %', (r) => r.generator.cpuPct],
    ['other processes CPU %', (r) => r.machine.othersCpuPct],
    ['send lateness p99 ms', (r) => r.generator.sendLatenessMs.p99]
  ]
  const w = 18
  const out = [`${'side by side'.padEnd(26)}${runs.map((x) => pad(x.target, w)).join('')}`]
  for (const [label, f] of rows) out.push(`${label.padEnd(26)}${runs.map((x) => pad(f(x.result), w)).join('')}`)
  const [first, last] = [runs[0], runs[runs.length - 1]]
  if (runs.length > 1 && first && last && first.result.server.cpuPct && last.result.server.cpuPct) {
    out.push(`${last.target} CPU / ${first.target} CPU = ${(last.result.server.cpuPct / first.result.server.cpuPct).toFixed(2)}x`)
  }
  return out.join('\n')
}

export function resultLine (scenario: string, r: ScenarioResult): string {
  return `RESULT scenario=${scenario} p99_ms=${r.summary.p99Ms} loss_pct=${r.summary.lossPct} errors=${r.summary.errors} ` +
    `server_cpu_pct=${na(r.server.cpuPct)} server_rss_mb=${na(r.server.peakRssMb)}`
}
