import type { Test } from 'tap'
import { LocalCluster } from '../bench/lib/cluster.js'
import { BUILT_SERVER } from './built-server.js'
import { TOKEN } from './helper.js'
import { redisBinary } from './redis-server.js'
import { findBinary } from './system-binary.js'

export const haproxyBinary = findBinary('haproxy', 'haproxy')
/** Why a test that needs a cluster is skipped: redis-server or haproxy missing (false when both are there). */
export const clusterSkip = redisBinary.skip || haproxyBinary.skip

/**
 * Three instances of the built server (ms-1..ms-3) on one private Redis behind HAProxy with the project's
 * configuration, stopped when the test ends. `env` is added to every instance's environment; load
 * shedding is off (a 503 because the shared 2-core machine lagged says nothing about the cluster).
 */
export async function startCluster (t: Test, env: Record<string, string> = {}): Promise<LocalCluster> {
  const cluster = await LocalCluster.start({
    instances: 3,
    serverScript: BUILT_SERVER,
    redisBinary: redisBinary.path,
    haproxyBinary: haproxyBinary.path,
    token: TOKEN,
    env: { MAX_EVENT_LOOP_DELAY_MS: '0', ...env }
  })
  t.teardown(() => cluster.stop())
  return cluster
}
