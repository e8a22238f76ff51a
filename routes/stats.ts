import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../src/schemas/common.js'
import { SongsQuery, StatsSessions, StatsSessionsQuery, StatsSummary, SummaryQuery, TopSongs } from '../src/schemas/stats.js'
import { DAY_MS, periodStartDay, type Period } from '../src/stats/store.js'
import { rateLimitFor } from '../plugins/rate-limit.js'

const periodFields = (period: Period, now: number) =>
  ({ period, since: new Date(periodStartDay(period, now) * DAY_MS).toISOString().slice(0, 10) })

/**
 * /api/stats: the listening history, for operators (the bearer token, or STATS_TOKEN). Registered only
 * with STATS=on. Prometheus (/metrics) is the live view; this is what was.
 */
const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const stats = app.stats
  if (stats === null) return
  app.addHook('onRequest', app.verifyStatsAccess)
  const config = { rateLimit: rateLimitFor(app.config.rateLimit, 'poll') }

  app.get('/summary', {
    config,
    schema: { summary: 'Listening statistics of a period: totals, and one row per day', querystring: SummaryQuery, response: { 200: StatsSummary, ...errorResponses } }
  }, async (request) => {
    const now = Date.now()
    const { period } = request.query
    return { ...periodFields(period, now), ...await stats.summary(period, now), recorder: stats.status() }
  })

  app.get('/songs', {
    config,
    schema: { summary: 'Top songs of a period, by plays or by listener-minutes', querystring: SongsQuery, response: { 200: TopSongs, ...errorResponses } }
  }, async (request) => {
    const now = Date.now()
    const { period, sort, limit } = request.query
    return { ...periodFields(period, now), sort, songs: await stats.topSongs(period, sort, limit, now) }
  })

  app.get('/sessions', {
    config,
    schema: { summary: 'Sessions started in a period, newest first, with their figures', querystring: StatsSessionsQuery, response: { 200: StatsSessions, ...errorResponses } }
  }, async (request) => {
    const now = Date.now()
    const { period, limit, offset } = request.query
    return { ...periodFields(period, now), limit, offset, ...await stats.sessions(period, limit, offset, now) }
  })
}

export default statsRoutes
