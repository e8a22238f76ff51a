import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/** deploy/ of this checkout: the files operators run, read as they are. */
export const DEPLOY_DIR = fileURLToPath(new URL('../../deploy/', import.meta.url))
export const PROMETHEUS_DIR = join(DEPLOY_DIR, 'prometheus')
export const GRAFANA_DIR = join(DEPLOY_DIR, 'grafana')
export const DASHBOARD_FILE = join(GRAFANA_DIR, 'dashboards', 'music-share.json')

export function readYaml<T> (path: string): T {
  return parse(readFileSync(path, 'utf8')) as T
}

export interface Rule {
  record?: string
  alert?: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

/** Every rule of deploy/prometheus/rules/<file>, in order. */
export function rulesIn (file: 'recording.yml' | 'alerts.yml'): Rule[] {
  const { groups } = readYaml<{ groups: Array<{ name: string, rules: Rule[] }> }>(join(PROMETHEUS_DIR, 'rules', file))
  return groups.flatMap((g) => g.rules)
}

export const recordingRules = () => rulesIn('recording.yml').map((r) => ({ name: r.record!, expr: r.expr }))
export const alertingRules = () => rulesIn('alerts.yml')

export interface Panel {
  id: number
  type: string
  title: string
  gridPos: { h: number, w: number, x: number, y: number }
  datasource?: { type: string, uid: string }
  targets?: Array<{ refId: string, expr: string, legendFormat?: string, datasource?: { type: string, uid: string } }>
  panels?: Panel[]
}

export interface Dashboard {
  uid: string
  title: string
  panels: Panel[]
  templating: { list: Array<{ name: string, type: string, query?: unknown, definition?: string, allValue?: string }> }
}

export const readDashboard = () => JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard

/** Every panel, with those inside collapsed rows. */
export function panelsOf (dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
}

/** Every query of every panel, named after the panel that draws it. */
export function dashboardQueries (dashboard = readDashboard()): Array<{ name: string, expr: string }> {
  return panelsOf(dashboard).flatMap((p) => (p.targets ?? []).map((t) => ({ name: `panel "${p.title}" ${t.refId}`, expr: t.expr })))
}

/** Grafana's own variables a query may use; the dashboard's variables are in its templating list. */
export const GRAFANA_VARIABLES = ['__rate_interval', '__interval', '__range']

/**
 * A panel query as Prometheus gets it from Grafana with "All" selected: a multi-value variable used in
 * a regex matcher becomes its allValue, $__rate_interval a window that spans several scrapes. Throws on
 * a variable the dashboard does not define.
 */
export function asPrometheusQuery (expr: string, dashboard: Dashboard, rateInterval: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (_m, name: string) => {
    if (GRAFANA_VARIABLES.includes(name)) return rateInterval
    const variable = dashboard.templating.list.find((v) => v.name === name)
    if (variable?.allValue === undefined) throw new Error(`${expr}: $${name} is not a variable of the dashboard with an allValue`)
    return variable.allValue
  })
}

/**
 * The metric names (of this server, Node's and the process's) an expression reads. Recording rules'
 * names hold colons and are not metrics; `up` is Prometheus's own.
 */
export function metricNamesIn (expr: string): string[] {
  return [...new Set([...expr.matchAll(/(?<![\w:])((?:musicshare|nodejs|process)_\w+)(?![\w:])/g)].map((m) => m[1]!))]
}
