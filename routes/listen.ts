import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import helmet from '@fastify/helmet'
import { errorResponses } from '../src/schemas/common.js'
import { DomainError } from '../src/errors.js'
import { ICON_SVG, joinPage, playerPage, type PageAssets } from '../src/listen-page/listen-page.js'
import { defaultWebDir, loadWebAssets } from '../src/listen-page/web-assets.js'
import { Tag } from '../src/schemas/tags.js'

export interface ListenOptions {
  /** Where the built page lives; default dist/web of this project. */
  webDir?: string
}

/**
 * Exactly what the page needs: its own scripts (the page, its lazily imported wasm Opus decoder chunk
 * and the AudioWorklet module, which script-src governs; 'wasm-unsafe-eval' lets that decoder compile
 * its WebAssembly, and allows no JavaScript eval), its own stylesheet, cover art from the art route, and fetch/EventSource/WebSocket to this
 * origin ('self' covers ws:/wss: of the same host in CSP Level 3 browsers). Nothing inline, no framing.
 * Written out in full (useDefaults: false): helmet's default adds upgrade-insecure-requests, which would
 * break a server reached over plain http on a LAN.
 */
export const CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"]
  }
}

const HTML_CACHE = 'no-cache'
const ASSET_CACHE = 'public, max-age=31536000, immutable'

const PageParams = Type.Object({ sessionId: Type.String({ maxLength: 64 }) })
const JoinQuery = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 64 })),
  key: Type.Optional(Type.String({ maxLength: 128 }))
})
const Html = Type.String({ description: 'text/html' })
const AssetParams = Type.Object({ file: Type.String({ maxLength: 128 }) })

/** The listener page: `GET /listen` (join form), `GET /listen/:sessionId` (player), its hashed assets. */
const listen: FastifyPluginAsyncTypebox<ListenOptions> = async (app, options) => {
  // Registered in this context only: the JSON API keeps its own headers (CORS, no CSP needed).
  await app.register(helmet, { global: true, contentSecurityPolicy: CSP })

  const built = loadWebAssets(options.webDir ?? defaultWebDir())
  if (built === undefined) app.log.warn('the listener page is not built (npm run build): /listen answers 503')
  const { basePath } = app.config
  const assets = (): PageAssets => {
    if (built === undefined) {
      throw new DomainError('SERVICE_UNAVAILABLE', 'The listener page is not built on this server: run npm run build')
    }
    return { assetBase: `${basePath}/listen/assets/`, basePath, ...built.entries }
  }

  app.get('/listen', {
    schema: { tags: [Tag.listenerPage], summary: 'The listener page: a form for the share code and listen key', querystring: JoinQuery, response: { 200: Html, ...errorResponses } }
  }, async (request, reply) => {
    const page = assets()
    const { code, key } = request.query
    let problem: string | undefined
    if (code !== undefined) {
      const trimmed = code.replace(/\s+/g, '')
      if (!/^[0-9]{6}$/.test(trimmed)) problem = 'A share code is 6 digits.'
      else if (key === undefined || key.trim() === '') problem = 'Enter the listen key too.'
      else return reply.redirect(`${basePath}/listen/${trimmed}?key=${encodeURIComponent(key.trim())}`, 303)
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', HTML_CACHE)
      .send(joinPage(page, problem, problem === undefined ? '' : (code ?? '').slice(0, 6)))
  })

  app.get('/listen/:sessionId', {
    schema: { tags: [Tag.listenerPage], summary: 'The listener page for one share (`?key=` holds the listen key)', params: PageParams, response: { 200: Html, ...errorResponses } }
  }, async (_request, reply) => {
    // The page checks the id and the key itself and shows a clear message for a bad one.
    return reply.type('text/html; charset=utf-8').header('cache-control', HTML_CACHE).send(playerPage(assets()))
  })

  app.get('/listen/icon.svg', {
    schema: { tags: [Tag.listenerPage], summary: 'The page icon', response: { 200: Type.String({ description: 'image/svg+xml' }) } }
  }, async (_request, reply) => {
    return reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(ICON_SVG)
  })

  app.get('/listen/assets/:file', {
    schema: {
      tags: [Tag.listenerPage],
      summary: 'The listener page\'s scripts and styles (content-hashed names)',
      params: AssetParams,
      response: { 200: Type.Unsafe<Buffer>({ description: 'the file' }), 304: Type.Null(), ...errorResponses }
    }
  }, async (request, reply) => {
    assets()
    const file = built?.files.get(request.params.file)
    if (file === undefined) throw new DomainError('NOT_FOUND', 'No such asset')
    reply.header('etag', file.etag).header('cache-control', ASSET_CACHE)
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send(null)
    return reply.type(file.type).send(file.bytes)
  })
}

export default listen
