import { DomainError } from '../errors.js'
import type { SessionListQuery, SessionSummary } from '../schemas/sessions-list.js'
import { endedSummary, type SessionPage } from '../session/session-list.js'
import type { ClusterDirectory, ClusterSession } from './cluster-directory.js'

/** How long a caller should wait before asking for the cluster's list again while Redis is down. */
const DEGRADED_RETRY_AFTER_SECONDS = 5

/** A session as its owner last wrote it to Redis. */
function clusterSummary (c: ClusterSession): SessionSummary {
  const n = (name: string) => Number(c.hash[name] ?? 0)
  const sampleRate = n('sampleRate')
  return {
    sessionId: c.id,
    state: 'active',
    startTime: n('startTime'),
    lastActivity: n('lastActivity'),
    endedAt: null,
    endReason: null,
    listenerCount: n('listenerCount'),
    title: c.title,
    artist: c.artist,
    audioFormat: sampleRate > 0 ? { sampleRate, channels: n('channels') } : null,
    // Not in the snapshot's hash: only the owner knows its ring.
    bufferedSeconds: 0,
    bytesReceived: n('bytesReceived'),
    bytesSent: 0,
    instanceId: c.instanceId,
    ownerAlive: c.ownerAlive
  }
}

/**
 * Every instance's sessions, as Redis holds them: the active newest first, then the ended.
 * Throws SERVICE_UNAVAILABLE while Redis is unreachable (`degradedReason` set).
 */
export async function listClusterSessions (
  directory: ClusterDirectory,
  degradedReason: string | undefined,
  query: Pick<SessionListQuery, 'state' | 'limit' | 'offset'>
): Promise<SessionPage & { instances: string[] }> {
  if (degradedReason !== undefined) {
    throw new DomainError('SERVICE_UNAVAILABLE', 'Redis is unavailable: only scope=instance can be listed now',
      { retryAfterSeconds: DEGRADED_RETRY_AFTER_SECONDS })
  }
  const { state, limit, offset } = query
  const cluster = await directory.listCluster()
  const active = state === 'ended' ? [] : cluster.sessions.sort((a, b) => Number(b.hash.startTime) - Number(a.hash.startTime)).map(clusterSummary)
  const ended = state === 'active' ? [] : cluster.ended.reverse().map(endedSummary)
  const all = [...active, ...ended]
  return {
    total: all.length,
    active: cluster.sessions.length,
    ended: cluster.ended.length,
    offset,
    limit,
    instances: cluster.instances,
    sessions: all.slice(offset, offset + limit)
  }
}
