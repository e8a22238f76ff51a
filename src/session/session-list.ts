import type { SessionListQuery, SessionSummary } from '../schemas/sessions-list.js'
import type { ShareSession } from './session.js'
import type { EndedSession, SessionRegistry } from './session-registry.js'

/** A page of the list, without the fields the caller adds (instance id, scope). */
export interface SessionPage {
  total: number
  active: number
  ended: number
  offset: number
  limit: number
  sessions: SessionSummary[]
}

export function activeSummary (s: ShareSession, now: number): SessionSummary {
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

export function endedSummary (e: EndedSession): SessionSummary {
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

/** This instance's sessions, newest first, the active before the ended; only the page asked for is summarised. */
export function listInstanceSessions (registry: SessionRegistry, query: Pick<SessionListQuery, 'state' | 'limit' | 'offset'>, now: number): SessionPage {
  const { state, limit, offset } = query
  const active = state === 'ended' ? [] : [...registry.activeSessions()].reverse()
  const ended = state === 'active' ? [] : [...registry.endedSessions()].reverse()
  const page: SessionSummary[] = []
  for (let i = offset; i < Math.min(offset + limit, active.length + ended.length); i++) {
    page.push(i < active.length ? activeSummary(active[i]!, now) : endedSummary(ended[i - active.length]!))
  }
  return {
    total: active.length + ended.length,
    active: registry.activeCount,
    ended: registry.endedCount,
    offset,
    limit,
    sessions: page
  }
}
