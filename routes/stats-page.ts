import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import helmet from '@fastify/helmet'
import { errorResponses } from '../src/schemas/common.js'
import { DomainError } from '../src/errors.js'
import { statsPage, type StatsPageAssets } from '../src/listen-page/stats-page.js'
import { defaultWebDir, loadWebAssets } from '../src/listen-page/web-assets.js'
import { CSP } from './listen.js'

export interface StatsPageOptions {
  /** Where the built pages live; default dist/web of this project. */
  webDir?: string
}

/**
 * The statistics page, `GET /stats` (registered with STATS=on only). The page holds no data: its
 * script reads /api/stats with the token the viewer types in. Its script and stylesheet are built with
 * the listener page's and served by the same asset route (`/listen/assets/`). Same CSP as the listener
 * page: only this server's own script, styles and fetches.
 */
const statsPageRoutes: FastifyPluginAsyncTypebox<StatsPageOptions> = async (app, options) => {
  if (app.stats === null) return
  await app.register(helmet, { global: true, contentSecurityPolicy: CSP })
  const built = loadWebAssets(options.webDir ?? defaultWebDir())
  const { basePath } = app.config
  const assets = (): StatsPageAssets => {
    if (built === undefined) {
      throw new DomainError('SERVICE_UNAVAILABLE', 'The statistics page is not built on this server: run npm run build')
    }
    return { assetBase: `${basePath}/listen/assets/`, basePath, stats: built.entries.stats, style: built.entries.statsStyle }
  }

  app.get('/stats', {
    schema: { summary: 'The statistics page: top songs, listeners and sessions over time (reads /api/stats)', response: { 200: Type.String({ description: 'text/html' }), ...errorResponses } }
  }, async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(statsPage(assets()))
  })
}

export default statsPageRoutes
