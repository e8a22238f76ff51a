import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../src/schemas/common.js'
import { SessionList, SessionListQuery, type SessionSummary } from '../../src/schemas/sessions-list.js'
import { rateLimitFor } from '../../plugins/rate-limit.js'
import type { ShareSession } from '../../src/session/session.js'
import type { EndedSession } from '../../src/session/session-registry.js'
import type { ClusterSession } from '../../src/cluster/cluster-directory.js'
import { AppError } from '../../src/errors.js'

/** A session as another instance last wrote it to Redis (scope=cluster). */
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

function activeSummary (s: ShareSession, now: number): SessionSummary {
  const metadata = s.metadata(now)?.value
  const format = s.audio.format
  return {
    sessionId: s.id,
    state: 'active',
    startTime: s.startTime,
    lastActivity: s.lastActivity,
    endedAt: null,
    endReason: null,
    listenerCount: s.listeners.count(now),
    title: metadata?.title ?? null,
    artist: metadata?.artist ?? null,
    audioFormat: format === undefined ? null : { sampleRate: format.sampleRate, channels: format.channels },
    bufferedSeconds: Math.round(s.audio.bufferedSeconds * 1000) / 1000,
    bytesReceived: s.bytesReceived,
    bytesSent: s.bytesSent
  }
}

function endedSummary (e: EndedSession): SessionSummary {
  return {
    sessionId: e.id,
    state: 'ended',
    startTime: e.startTime,
    lastActivity: e.endedAt,
    endedAt: e.endedAt,
    endReason: e.reason,
    listenerCount: 0,
    title: null,
    artist: null,
    audioFormat: null,
    bufferedSeconds: 0,
    bytesReceived: e.bytesTransferred,
    bytesSent: e.bytesSent
  }
}

/** For operators: every active and recently ended session, a page at a time. */
const sessions: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/sessions', {
    config: { rateLimit: rateLimitFor(app.config.rateLimit, 'poll') },
    schema: {
      summary: 'List active and recently ended sessions (operators)',
      querystring: SessionListQuery,
      response: { 200: SessionList, ...errorResponses }
    }
  }, async (request) => {
    const { state, limit, offset, scope } = request.query
    const now = Date.now()
    const directory = app.redisSnapshot?.directory
    if (scope === 'cluster' && directory !== undefined) {
      if (app.redisSnapshot!.degradedReason !== undefined) {
        throw new AppError('SERVICE_UNAVAILABLE', 'Redis is unavailable: only scope=instance can be listed now', {}, { 'retry-after': '5' })
      }
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
        instanceId: app.config.instanceId,
        scope,
        instances: cluster.instances,
        sessions: all.slice(offset, offset + limit)
      }
    }
    const active = state === 'ended' ? [] : [...app.sessions.activeSessions()].reverse()
    const ended = state === 'active' ? [] : [...app.sessions.endedSessions()].reverse()
    const page: SessionSummary[] = []
    for (let i = offset; i < Math.min(offset + limit, active.length + ended.length); i++) {
      page.push(i < active.length ? activeSummary(active[i]!, now) : endedSummary(ended[i - active.length]!))
    }
    return {
      total: active.length + ended.length,
      active: app.sessions.activeCount,
      ended: app.sessions.endedCount,
      offset,
      limit,
      instanceId: app.config.instanceId,
      scope,
      sessions: page
    }
  })
}

export default sessions
