import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { parse } from 'yaml'
import {
  alertingRules, asPrometheusQuery, dashboardQueries, DEPLOY_DIR, GRAFANA_DIR, panelsOf, PROMETHEUS_DIR, readDashboard,
  readYaml, recordingRules
} from './monitoring-files.js'
import { prometheusDir, promtool, promtoolBinary, type PrometheusConfig } from '../prometheus-server.js'

// The Prometheus and Grafana files of deploy/ checked as files: promtool on the configuration and the
// rules (and its unit tests of them), what every alert carries, and how compose wires it all together.
// test/integration/prometheus.test.ts runs them against real servers.

const skip = promtoolBinary.skip
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

t.test('promtool check config: the one-instance and the cluster configuration', { skip }, async (t) => {
  const dir = prometheusDir(t)
  const single = promtool(['check', 'config', 'prometheus.yml'], dir)
  t.equal(single.code, 0, single.output)
  t.match(single.output, /SUCCESS: 2 rule files found/)
  // cluster.yml reads the metrics token from a file beside it, which promtool checks exists.
  writeFileSync(join(dir, 'metrics-token'), 'a-metrics-token\n')
  const cluster = promtool(['check', 'config', 'cluster.yml'], dir)
  t.equal(cluster.code, 0, cluster.output)
  t.match(cluster.output, /SUCCESS: 2 rule files found/)
})

t.test('promtool check rules: every recording and alerting rule is valid', { skip }, async (t) => {
  const checked = promtool(['check', 'rules', 'rules/recording.yml', 'rules/alerts.yml'], PROMETHEUS_DIR)
  t.equal(checked.code, 0, checked.output)
  t.match(checked.output, new RegExp(`SUCCESS: ${recordingRules().length} rules found[\\s\\S]*SUCCESS: ${alertingRules().length} rules found`))
})

t.test('promtool test rules: the unit tests of the recording rules and of every alert pass', { skip }, async (t) => {
  const run = promtool(['test', 'rules', 'recording.test.yml', 'alerts.test.yml'], join(PROMETHEUS_DIR, 'tests'))
  t.equal(run.code, 0, run.output)
  t.equal(run.output.match(/SUCCESS/g)?.length, 2, run.output)
})

interface RuleTests {
  tests: Array<{
    name: string
    alert_rule_test?: Array<{ alertname: string, exp_alerts: unknown[] }>
    promql_expr_test?: Array<{ expr: string, exp_samples: unknown[] }>
  }>
}

t.test('every alert is unit-tested firing and not firing; every recording rule has a unit test', async (t) => {
  const alertTests = readYaml<RuleTests>(join(PROMETHEUS_DIR, 'tests', 'alerts.test.yml')).tests.flatMap((c) => c.alert_rule_test ?? [])
  for (const { alert } of alertingRules()) {
    const cases = alertTests.filter((c) => c.alertname === alert)
    t.ok(cases.some((c) => c.exp_alerts.length > 0), `${alert}: a case where it fires`)
    t.ok(cases.some((c) => c.exp_alerts.length === 0), `${alert}: a case where it does not`)
  }
  t.same([...new Set(alertTests.map((c) => c.alertname))].sort(), alertingRules().map((r) => r.alert).sort(), 'no test of an alert that does not exist')

  const exprTests = readYaml<RuleTests>(join(PROMETHEUS_DIR, 'tests', 'recording.test.yml')).tests.flatMap((c) => c.promql_expr_test ?? [])
  for (const { name } of recordingRules()) {
    t.ok(exprTests.some((c) => c.expr.startsWith(name) && c.exp_samples.length > 0), `${name}: a test of its values`)
  }
})

t.test('every alert has a severity, a summary, a description and a runbook line in the README', async (t) => {
  const monitoring = README.slice(README.indexOf('\n## Monitoring'), README.indexOf('\n## ', README.indexOf('\n## Monitoring') + 1))
  const alertsSection = monitoring.slice(monitoring.indexOf('\n### Alerts'))
  t.ok(alertsSection.length > 100, 'README "Monitoring" has an "Alerts" section')
  const listed = [...alertsSection.matchAll(/^\| `(MusicShare\w+)` \| (critical|warning|info) \| (.+) \|$/gm)]
  for (const rule of alertingRules()) {
    const name = rule.alert!
    t.match(rule.labels, { severity: /^(critical|warning|info)$/ }, `${name}: severity`)
    t.ok((rule.annotations?.summary ?? '').length > 10, `${name}: a summary`)
    t.ok((rule.annotations?.description ?? '').length > 10, `${name}: a description`)
    t.equal(rule.annotations?.runbook, `README.md, Monitoring > Alerts: ${name}`, `${name}: the runbook annotation points at the README`)
    const line = listed.find((m) => m[1] === name)
    t.ok(line, `${name}: a line in the README's alert list`)
    t.equal(line?.[2], rule.labels?.severity, `${name}: the README gives its severity`)
    t.ok((line?.[3] ?? '').length > 40, `${name}: and what to do`)
  }
  t.same(listed.map((m) => m[1]).sort(), alertingRules().map((r) => r.alert).sort(), 'the README lists no alert that does not exist')
})

t.test('scrape configurations: one job, every target labelled with its instance_id; the cluster sends the metrics token', async (t) => {
  for (const file of ['prometheus.yml', 'cluster.yml']) {
    const config = readYaml<PrometheusConfig>(join(PROMETHEUS_DIR, file))
    t.same(config.rule_files, ['rules/recording.yml', 'rules/alerts.yml'], `${file}: the rules`)
    t.same(config.scrape_configs.map((s) => s.job_name), ['music-share'], `${file}: the job the alerts name`)
    for (const group of config.scrape_configs[0]!.static_configs) {
      t.equal(group.targets.length, 1, `${file}: one target a group, so each has its own instance_id`)
      t.match(group.labels, { instance_id: /^[\w.-]{1,64}$/ }, `${file}: ${group.targets[0]} has an instance_id`)
    }
  }
  const single = readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')
  t.match(single, /^ {4}# authorization:\n {4}# {3}type: Bearer\n {4}# {3}credentials_file: metrics-token$/m, 'one instance: how to send METRICS_TOKEN, commented out')
  const cluster = readYaml<PrometheusConfig>(join(PROMETHEUS_DIR, 'cluster.yml'))
  t.same(cluster.scrape_configs[0]!.authorization, { type: 'Bearer', credentials_file: 'metrics-token' }, 'the cluster: the token from a file')
})

type ComposeService = {
  image?: string
  command?: string[]
  environment?: Record<string, string>
  volumes?: string[]
  ports?: string[]
  secrets?: Array<{ source: string, target: string }>
}
interface Compose {
  services: Record<string, ComposeService>
  secrets: Record<string, { environment?: string }>
}

t.test('docker-compose.yml wires Prometheus to every instance and Grafana to Prometheus', async (t) => {
  const compose = parse(readFileSync(join(DEPLOY_DIR, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose
  const instances = Object.entries(compose.services).filter(([, s]) => s.environment?.INSTANCE_ID !== undefined)
  t.equal(instances.length, 3)
  for (const [name, service] of instances) {
    t.match(service.environment, { INSTANCE_ID: name, METRICS_TOKEN: /\$\{METRICS_TOKEN/ }, `${name}: its id and the metrics token`)
  }

  // Prometheus: cluster.yml as its configuration, the rules beside it, the token where cluster.yml reads it.
  const prometheus = compose.services.prometheus!
  const configPath = prometheus.command!.find((a) => a.startsWith('--config.file='))!.slice('--config.file='.length)
  const configDir = posix.dirname(configPath)
  const mounts = new Map(prometheus.volumes!.map((v) => { const [from, to] = v.split(':'); return [from!, to!] }))
  t.equal(mounts.get('./prometheus/cluster.yml'), configPath, 'cluster.yml is the configuration')
  t.equal(mounts.get('./prometheus/rules'), `${configDir}/rules`, 'the rules where its rule_files point')
  const cluster = readYaml<PrometheusConfig>(join(PROMETHEUS_DIR, 'cluster.yml'))
  const secret = prometheus.secrets!.find((s) => s.target === posix.join(configDir, cluster.scrape_configs[0]!.authorization!.credentials_file))
  t.ok(secret, 'the metrics token is mounted where cluster.yml reads it')
  t.same(compose.secrets[secret!.source], { environment: 'METRICS_TOKEN' }, 'from the same METRICS_TOKEN the instances get')
  const targets = cluster.scrape_configs[0]!.static_configs.map((g) => ({ target: g.targets[0], instanceId: g.labels!.instance_id }))
  t.same(targets, instances.map(([name, s]) => ({ target: `${name}:${s.environment!.PORT}`, instanceId: s.environment!.INSTANCE_ID })),
    'cluster.yml scrapes every instance directly, labelled with its INSTANCE_ID')

  // Grafana: provisioning and the dashboard where the provisioning says.
  const grafana = compose.services.grafana!
  const grafanaMounts = new Map(grafana.volumes!.map((v) => { const [from, to] = v.split(':'); return [from!, to!] }))
  t.equal(grafanaMounts.get('./grafana/provisioning'), '/etc/grafana/provisioning')
  const providers = readYaml<{ providers: Array<{ options: { path: string } }> }>(join(GRAFANA_DIR, 'provisioning', 'dashboards', 'music-share.yml')).providers
  t.equal(grafanaMounts.get('./grafana/dashboards'), providers[0]!.options.path, 'the dashboards where the provider loads them')
  const datasources = readYaml<{ datasources: Array<{ type: string, url: string, isDefault: boolean }> }>(join(GRAFANA_DIR, 'provisioning', 'datasources', 'prometheus.yml')).datasources
  t.match(datasources, [{ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }], 'the data source is the compose Prometheus')
  t.same(prometheus.ports, ['127.0.0.1:9090:9090'], 'Prometheus: loopback only')
  t.same(grafana.ports, ['127.0.0.1:3000:3000'], 'Grafana: loopback only')
  t.match(grafana.environment, { GF_SECURITY_ADMIN_PASSWORD: /\$\{GRAFANA_ADMIN_PASSWORD:\?/ }, 'no default admin password')
})

t.test('the dashboard: Grafana panels over the data-source variable, each query filtered by the instance selector', async (t) => {
  const dashboard = readDashboard()
  const panels = panelsOf(dashboard)
  t.same(dashboard.templating.list.map((v) => v.name), ['datasource', 'instance_id'])
  t.match(dashboard.templating.list[1], { type: 'query', definition: 'label_values(musicshare_instance_info, instance_id)', allValue: '.*' })
  t.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique')
  t.equal(new Set(panels.map((p) => p.title)).size, panels.length, 'panel titles are unique')
  const cells = new Set<string>()
  for (const p of panels) {
    const { x, y, w, h } = p.gridPos
    t.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0, `"${p.title}" fits the 24 columns`)
    for (let i = x; i < x + w; i++) {
      for (let j = y; j < y + h; j++) {
        if (cells.has(`${i},${j}`)) t.fail(`"${p.title}" overlaps another panel at ${i},${j}`)
        cells.add(`${i},${j}`)
      }
    }
    if (p.type === 'row') continue
    t.same(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `"${p.title}": the data-source variable`)
    t.ok((p.targets ?? []).length > 0, `"${p.title}": at least one query`)
    t.equal(new Set(p.targets!.map((q) => q.refId)).size, p.targets!.length, `"${p.title}": distinct refIds`)
  }
  for (const { name, expr } of dashboardQueries(dashboard)) {
    t.match(expr, /instance_id=~"\$instance_id"/, `${name}: follows the instance selector`)
    t.doesNotThrow(() => asPrometheusQuery(expr, dashboard, '1m'), `${name}: every variable is defined`)
  }
})
