import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import { loadConfig, type AppConfig } from '../../src/config.js'
import configPlugin from '../../plugins/config.js'
import sessionRegistry from '../../plugins/session-registry.js'
import healthChecks from '../../plugins/health-checks.js'
import rateLimit from '../../plugins/rate-limit.js'
import errorHandler from '../../plugins/error-handler.js'
import metrics from '../../plugins/metrics.js'
import push from '../../plugins/push.js'
import opus from '../../plugins/opus.js'

/**
 * Each plugin on a bare Fastify(), with only the plugins its fastify-plugin `dependencies` name (and
 * theirs), as fastify/demo's test/plugins do: proves the `dependencies` lists are complete and real.
 */

export const TOKEN = 'Multicore2024SR'

/** The configuration test/helper.ts `testConfig` builds, without the rest of the app. */
export function aloneConfig (env: Record<string, string> = {}): AppConfig {
  return loadConfig({ BEARER_TOKEN: `Bearer ${TOKEN}`, LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0', ...env })
}

// Registered plugins are fastify-plugin wrappers; their options differ (config takes `{ config }`).
type Plugin = FastifyPluginAsync<never>

/** What fastify-plugin stored from `fp(fn, { name, dependencies })`. */
function metaOf (plugin: Plugin): { name: string, dependencies?: string[] } {
  const meta = (plugin as unknown as Record<symbol, { name: string, dependencies?: string[] } | undefined>)[Symbol.for('plugin-meta')]
  if (meta === undefined) throw new Error('not a fastify-plugin plugin')
  return meta
}

export const dependenciesOf = (plugin: Plugin): string[] => metaOf(plugin).dependencies ?? []

/** The plugin that provides each name another plugin may depend on. */
const PROVIDERS: Readonly<Record<string, Plugin>> = {
  config: configPlugin,
  'session-registry': sessionRegistry,
  'health-checks': healthChecks,
  // plugins/rate-limit.ts registers @fastify/rate-limit (with the app's options).
  '@fastify/rate-limit': rateLimit,
  'error-handler': errorHandler,
  metrics,
  push,
  opus
}

/** Every plugin gets `{ config }`: config reads it, the others ignore their options. */
function registerOn (app: FastifyInstance, plugin: Plugin, config: AppConfig) {
  return app.register(plugin as FastifyPluginAsync<{ config: AppConfig }>, { config })
}

function provider (name: string): Plugin {
  const plugin = PROVIDERS[name]
  if (plugin === undefined) throw new Error(`alone-helper knows no plugin providing '${name}'`)
  return plugin
}

/** `names` and everything they depend on, dependencies first, each once. */
function withDependencies (names: readonly string[]): string[] {
  const order: string[] = []
  const visit = (name: string) => {
    if (order.includes(name)) return
    for (const dep of dependenciesOf(provider(name))) visit(dep)
    order.push(name)
  }
  for (const name of names) visit(name)
  return order
}

export interface AloneOptions {
  /** Environment for loadConfig, over the test defaults. */
  env?: Record<string, string>
  /** Plugins the test adds beyond the declared dependencies, registered after the plugin (e.g. error-handler for the uniform error format). */
  adds?: readonly string[]
  /** Server options, for those the plugin expects of its host (as app.ts sets them). */
  server?: FastifyServerOptions
}

/**
 * A bare Fastify() with `plugin` and its declared dependencies registered (not ready yet, so the test can
 * declare routes after them); closed when the test ends.
 */
export async function alone (t: Test, plugin: Plugin, options: AloneOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, ...options.server })
  t.teardown(() => app.close())
  const config = aloneConfig(options.env)
  const register = (p: Plugin) => registerOn(app, p, config)
  const needed = withDependencies(dependenciesOf(plugin))
  for (const name of needed) await register(provider(name))
  await register(plugin)
  // What the added plugins need is registered too, unless the plugin itself provides it (rate-limit).
  for (const name of withDependencies(options.adds ?? [])) {
    if (!needed.includes(name) && provider(name) !== plugin) await register(provider(name))
  }
  return app
}

/**
 * The plugin declares exactly `expected`, and for each of them: registered with every other (and what
 * those need) but without that one, `ready()` fails with Fastify's check of fastify-plugin's `dependencies`.
 */
export async function assertDependencies (t: Test, plugin: Plugin, expected: readonly string[]): Promise<void> {
  const declared = dependenciesOf(plugin)
  t.same(declared, expected, `${metaOf(plugin).name} declares ${JSON.stringify(expected)}`)
  for (const missing of declared) {
    const app = Fastify({ logger: false })
    const config = aloneConfig()
    for (const name of withDependencies(declared)) {
      if (!withDependencies([name]).includes(missing)) void registerOn(app, provider(name), config)
    }
    void registerOn(app, plugin, config)
    await t.rejects(async () => { await app.ready() }, {
      code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED',
      message: `The dependency '${missing}' of plugin '${metaOf(plugin).name}' is not registered`
    }, `without '${missing}' it does not start`)
    await app.close()
  }
}

/** Calls `check` until it returns something other than undefined; throws naming `what` after `timeoutMs`. */
export async function until<T> (check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The uniform error body (plugins/error-handler.ts). */
export const errorShape = (code: string) => ({ success: false, code, error: String, timestamp: Number })
