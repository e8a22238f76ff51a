import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { clientChunk, clientMetadata, CLIENT_HEADERS, eventually, JSON_HEADERS, sine, TOKEN } from '../helper.js'
import { stopChild } from '../../bench/lib/proc.js'
import { assertBuilt, listeningUrl, spawnBuiltServer } from '../built-server.js'
import { clusterSkip, startCluster } from '../local-cluster.js'
import { PrivatePrometheus, prometheusBinary, prometheusDir, type PrometheusConfig, type QueryResult } from '../prometheus-server.js'
import {
  alertingRules, asPrometheusQuery, dashboardQueries, metricNamesIn, readDashboard, readYaml,
  recordingRules
} from '../deploy/monitoring-files.js'

// A real Prometheus, configured with the shipped files, scraping real servers: proof that every recording
// rule and every dashboard panel names metrics that exist and returns data.

const skip = prometheusBinary.skip || clusterSkip
const METRICS_TOKEN = 'prometheus-scrape-token-for-tests'
/** Where the queries and their answers are written, beside the listener page's screenshots. */
const OUTPUT = join(import.meta.dirname, '..', '..', 'test-output')
/** What $__rate_interval stands for with a 1 s scrape interval: Grafana makes it at least 4 scrapes. */
const RATE_INTERVAL = '1m'

t.before(assertBuilt)

/** The shipped configuration with a 1 s scrape and rule interval, and each target moved to a local port. */
function forTest (shipped: PrometheusConfig, portOf: (instanceId: string) => number | undefined): PrometheusConfig {
  return {
    ...shipped,
    global: { ...shipped.global, scrape_interval: '1s', evaluation_interval: '1s' },
    scrape_configs: shipped.scrape_configs.map((job) => ({
      ...job,
      static_configs: job.static_configs.map((group) => {
        const port = portOf(group.labels!.instance_id!)
        if (port === undefined) throw new Error(`the shipped configuration names an instance the test does not run: ${group.labels!.instance_id}`)
        return { ...group, targets: [`127.0.0.1:${port}`] }
      })
    }))
  }
}

/** "N series, e.g. {labels} value" of a query result, for the test output. */
function describe (result: QueryResult): string {
  const first = result.result[0]
  if (first === undefined) return 'no data'
  const { __name__: _name, ...labels } = first.metric
  const shown = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ')
  return `${result.result.length} series, e.g. {${shown}} ${Number(first.value[1]).toPrecision(4)}`
}

const hasFiniteValue = (result: QueryResult) => result.result.some((s) => Number.isFinite(Number(s.value[1])))

/**
 * Load through HAProxy as the desktop clients make it: per session one sharer (a 0.1 s chunk every
 * 100 ms, metadata now and then) and two polling receivers, which sometimes poll an ended session (404).
 */
function startLoad (lb: string, sessions: string[]) {
  let running = true
  const seq = new Map(sessions.map((id) => [id, 0]))
  const sharer = async (id: string) => {
    while (running) {
      const n = seq.get(id)!
      seq.set(id, n + 1)
      const res = await fetch(`${lb}/api/share/${id}/audio`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientChunk(n, sine(4410, n * 4410))) })
      await res.arrayBuffer()
      if (n % 20 === 0) await (await fetch(`${lb}/api/share/${id}/metadata`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientMetadata()) })).arrayBuffer()
      await sleep(100)
    }
  }
  const receiver = async (id: string, client: string) => {
    const headers = { ...CLIENT_HEADERS, 'x-client-id': client }
    let since = -1
    for (let i = 0; running; i++) {
      const res = await fetch(`${lb}/api/share/${id}/audio?since=${since}`, { headers })
      if (res.status === 200) since = Math.max(since, ...(await res.json() as Array<{ sequenceNumber: number }>).map((c) => c.sequenceNumber))
      else await res.arrayBuffer()
      const other = i % 10 === 0 ? '999999' : id
      await (await fetch(`${lb}/api/share/${other}/status`, { headers })).arrayBuffer()
      await sleep(100)
    }
  }
  const all = sessions.flatMap((id) => [sharer(id), receiver(id, `${id}-receiver-a`), receiver(id, `${id}-receiver-b`)])
  return {
    nextSequence: (id: string) => { const n = seq.get(id)!; seq.set(id, n + 1); return n },
    stop: async () => { running = false; await Promise.all(all) }
  }
}

t.test('Prometheus with cluster.yml scrapes three instances behind HAProxy under load: every rule and panel query returns data', { skip }, async (t) => {
  const cluster = await startCluster(t, { METRICS_TOKEN, RATE_LIMIT_AUDIO_PER_SECOND: '100', RATE_LIMIT_POLLS_PER_SECOND: '100' })

  // The shipped cluster.yml, its rules and the token file beside it, as compose mounts them.
  const dir = prometheusDir(t)
  writeFileSync(join(dir, 'metrics-token'), `${METRICS_TOKEN}\n`)
  const config = forTest(readYaml<PrometheusConfig>(join(dir, 'cluster.yml')), (id) => cluster.instances.find((i) => i.id === id)?.port)
  const prometheus = await PrivatePrometheus.start(t, dir, 'cluster.yml', config)

  const base = 100_000 + Math.floor(Math.random() * 800_000)
  const sessions = [base, base + 7, base + 14].map(String)
  const owners = new Map<string, string>()
  for (const id of sessions) {
    const res = await fetch(`${cluster.url}/api/share/start`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ sessionId: id }) })
    t.equal(res.status, 200, `start ${id}`)
    owners.set(id, res.headers.get('x-instance-id')!)
  }
  const load = startLoad(cluster.url, sessions)
  t.teardown(() => load.stop())
  // A wrong token, as a misconfigured client sends it.
  t.equal((await fetch(`${cluster.url}/api/share/${sessions[0]}/status`, { headers: { authorization: 'Bearer wrong' } })).status, 401)
  // Every instance is scraped, with its token, and labelled with its id.
  const targets = await eventually(async () => {
    const { activeTargets } = await prometheus.api<{ activeTargets: Array<{ labels: Record<string, string>, health: string, lastError: string }> }>('targets')
    return activeTargets.length === 3 && activeTargets.every((a) => a.health === 'up') ? activeTargets : undefined
  }, 'three targets up', 20_000, 200)
  t.same(targets.map((a) => a.labels.instance_id).sort(), ['ms-1', 'ms-2', 'ms-3'], 'each target carries its instance_id')

  // A request for a session that reaches another instance than its owner (as after a rebalance): it takes
  // the session over. Once Prometheus has seen the takeover counters at 0, so that it sees them grow.
  await eventually(async () => (await prometheus.query('musicshare_cluster_takeovers_total')).result.length === 3 || undefined,
    'the takeover counters scraped', 10_000, 200)
  const [moved] = sessions
  const other = cluster.instances.find((i) => i.id !== owners.get(moved!))!
  const takeover = await fetch(`${other.url}/api/share/${moved}/audio`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientChunk(load.nextSequence(moved!), sine(4410))) })
  t.equal(`${takeover.status} ${takeover.headers.get('x-instance-id')}`, `200 ${other.id}`, `${other.id} took ${moved} over`)

  // Every rule loaded and evaluates without error.
  const { groups } = await prometheus.api<{ groups: Array<{ rules: Array<{ name: string, type: string, health: string, lastError?: string }> }> }>('rules')
  const loaded = groups.flatMap((g) => g.rules)
  t.same(loaded.filter((r) => r.type === 'recording').map((r) => r.name).sort(), recordingRules().map((r) => r.name).sort(), 'every recording rule is loaded')
  t.same(loaded.filter((r) => r.type === 'alerting').map((r) => r.name).sort(), alertingRules().map((r) => r.alert!).sort(), 'every alert is loaded')
  t.same(loaded.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError ?? r.health}`), [], 'none fails to evaluate')

  // The metrics the queries read all exist on a real server.
  const dashboard = readDashboard()
  const panels = dashboardQueries(dashboard).map((q) => ({ ...q, expr: asPrometheusQuery(q.expr, dashboard, RATE_INTERVAL) }))
  const rules = recordingRules().map((r) => ({ name: `rule ${r.name}`, expr: r.name, reads: r.expr }))
  const scrape = await (await fetch(`${cluster.instances[0]!.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()
  const exported = new Set(scrape.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => /^[\w:]+/.exec(l)![0]))
  const read = new Set([...recordingRules(), ...alertingRules()].map((r) => r.expr).concat(panels.map((p) => p.expr)).flatMap(metricNamesIn))
  t.same([...read].filter((n) => !exported.has(n)).sort(), [], 'every metric a rule or panel reads is exported by a server')
  const checked = [...rules, ...panels]

  // Every recording rule and panel query returns data, as soon as the rates have two scrapes.
  const results = new Map<string, QueryResult>()
  await eventually(async () => {
    for (const q of checked) {
      if (results.has(q.name)) continue
      const result = await prometheus.query(q.expr)
      if (hasFiniteValue(result)) results.set(q.name, result)
    }
    return results.size === checked.length || undefined
  }, `data for every query (still none: ${checked.filter((q) => !results.has(q.name)).map((q) => q.name).join('; ')})`, 25_000, 250)
    .catch((err: Error) => {
      throw new Error(`${err.message}; still without data: ${checked.filter((q) => !results.has(q.name)).map((q) => `${q.name}: ${q.expr}`).join(' | ')}`)
    })
  for (const q of checked) {
    t.ok(hasFiniteValue(results.get(q.name)!), `${q.name}: ${describe(results.get(q.name)!)}`)
  }
  // Shown in the test output (Grafana is not in Debian, so no screenshot): each query and what it returned.
  const report = ['Prometheus, scraping three instances under load every second: every recording rule and dashboard query, with its first answer that had data:',
    ...checked.map((q) => `  ${q.name}: ${describe(results.get(q.name)!)}\n      ${q.expr.replace(/\s+/g, ' ')}`)].join('\n')
  process.stderr.write(`${report}\n`)
  mkdirSync(OUTPUT, { recursive: true })
  writeFileSync(join(OUTPUT, 'prometheus-queries.txt'), `${report}\n`)

  // The figures are the load's, not only zeros.
  const value = async (expr: string) => Number((await prometheus.query(expr)).result[0]?.value[1] ?? NaN)
  // While the moved session settles (its old owner takes it back on HAProxy's next request for it, the
  // other drops it at its heartbeat) two instances may count it, or none: then it is held once.
  await eventually(async () => await value('sum(musicshare_active_sessions)') === 3 || undefined, 'three live sessions in all', 10_000, 250)
  // Rules are evaluated every few seconds: on a busy machine the first evaluation with data can still be a 0 rate.
  const positive = async (expr: string, what: string, atLeast = Number.MIN_VALUE) =>
    t.ok(await eventually(async () => { const v = await value(expr); return v >= atLeast ? v : undefined }, what, 15_000, 250), what)
  await positive('sum(instance_id:musicshare_audio_received_bytes:rate1m)', 'audio comes in')
  await positive('sum(instance_id:musicshare_audio_sent_bytes:rate1m)', 'and goes out')
  await positive('sum(instance_id:musicshare_listeners:sum)', 'receivers are counted', 2)
  t.ok(await value('sum(musicshare_errors_total{code="UNAUTHORIZED"})') >= 1, 'the wrong token is counted')
  t.ok(await value('sum(musicshare_cluster_takeovers_total)') >= 1, 'the takeover is counted')
  t.equal(await value('min(musicshare_redis_up)'), 1, 'every instance\'s snapshot is up')

  // The takeover fired its (info) alert; nothing critical fires.
  const firing = await eventually(async () => {
    const alerts = (await prometheus.query('ALERTS{alertstate="firing"}')).result.map((s) => s.metric)
    return alerts.some((a) => a.alertname === 'MusicShareSessionsTakenOver') ? alerts : undefined
  }, 'MusicShareSessionsTakenOver firing', 10_000, 250)
  t.match(firing.find((a) => a.alertname === 'MusicShareSessionsTakenOver'), { severity: 'info', instance_id: /^ms-\d$/ })
  t.same(firing.filter((a) => a.severity === 'critical'), [], 'no critical alert')

  // The instance selector's query, as Grafana's label_values asks it.
  const ids = await prometheus.api<string[]>('label/instance_id/values', { 'match[]': 'musicshare_instance_info' })
  t.same(ids, ['ms-1', 'ms-2', 'ms-3'], 'the instance selector lists the three instances')
  await load.stop()
})

t.test('Prometheus with prometheus.yml scrapes one server without a token', { skip: prometheusBinary.skip }, async (t) => {
  const server = spawnBuiltServer({ BEARER_TOKEN: TOKEN, INSTANCE_ID: 'music-share' })
  t.teardown(() => stopChild(server.child))
  const port = Number(new URL(await listeningUrl(server)).port)
  const dir = prometheusDir(t)
  const config = forTest(readYaml<PrometheusConfig>(join(dir, 'prometheus.yml')), (id) => (id === 'music-share' ? port : undefined))
  t.equal(config.scrape_configs[0]!.authorization, undefined, 'no token: the server answers loopback without one')
  const prometheus = await PrivatePrometheus.start(t, dir, 'prometheus.yml', config)
  const info = await eventually(async () => (await prometheus.query('musicshare_instance_info')).result[0]?.metric, 'musicshare_instance_info scraped', 20_000, 200)
  t.match(info, { job: 'music-share', instance_id: 'music-share', exported_instance_id: 'music-share' },
    'the target\'s instance_id, and the server\'s own INSTANCE_ID beside it, agree')
  t.equal(Number((await prometheus.query('up{job="music-share"}')).result[0]?.value[1]), 1)
})
