import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, errorShape, JSON_HEADERS } from '../helper.js'
import { loadWebAssets, defaultWebDir } from '../../src/listen-page/web-assets.js'
import { escapeHtml } from '../../src/listen-page/listen-page.js'

// npm test builds first (pretest); the page's files are read from dist/web like in production.
const built = loadWebAssets(defaultWebDir())

t.test('the player page: HTML with hashed assets, no cache, security headers and a tight CSP', async (t) => {
  t.ok(built, 'dist/web is built')
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/listen/123456?key=abc' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  t.equal(res.headers['cache-control'], 'no-cache')
  t.equal(res.headers['content-security-policy'],
    "default-src 'none';script-src 'self' 'wasm-unsafe-eval';style-src 'self';img-src 'self';connect-src 'self';base-uri 'none';form-action 'self';frame-ancestors 'none'")
  t.equal(res.headers['referrer-policy'], 'no-referrer', 'the key in the URL is never sent on')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['x-frame-options'], 'SAMEORIGIN')
  t.notOk(res.body.includes('abc'), 'the key is not echoed into the page')
  t.notOk(/<script(?![^>]*src=)/.test(res.body), 'no inline script')
  for (const entry of ['listen', 'worklet', 'style'] as const) {
    const name = built?.entries[entry] ?? entry
    t.ok(res.body.includes(`/listen/assets/${name}`), name)
  }
  // The JSON API keeps its own headers.
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.headers['content-security-policy'], undefined)
})

t.test('assets: immutable cache, ETag and 304, unknown files 404', async (t) => {
  const app = await build(t)
  const script = built?.entries.listen ?? ''
  const res = await app.inject({ method: 'GET', url: `/listen/assets/${script}` })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/javascript/)
  t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
  const etag = String(res.headers.etag)
  const again = await app.inject({ method: 'GET', url: `/listen/assets/${script}`, headers: { 'if-none-match': etag } })
  t.equal(again.statusCode, 304)
  t.equal(again.body, '')
  const css = await app.inject({ method: 'GET', url: `/listen/assets/${built?.entries.style ?? ''}` })
  t.match(css.headers['content-type'], /^text\/css/)
  // The wasm Opus decoder: a chunk the page imports only when it needs it, served like the entries.
  const chunk = [...(built?.files.keys() ?? [])].find((name) => /^wasm-opus-[A-Z0-9]+\.js$/.test(name))
  t.ok(chunk, 'the lazily imported decoder chunk is built')
  const lazy = await app.inject({ method: 'GET', url: `/listen/assets/${chunk ?? ''}` })
  t.equal(lazy.statusCode, 200)
  t.match(lazy.headers['content-type'], /^text\/javascript/)
  t.equal(lazy.headers['cache-control'], 'public, max-age=31536000, immutable')
  const missing = await app.inject({ method: 'GET', url: '/listen/assets/nope.js' })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), errorShape('NOT_FOUND'))
  const icon = await app.inject({ method: 'GET', url: '/listen/icon.svg' })
  t.equal(icon.headers['content-type'], 'image/svg+xml')
})

t.test('the join form, and its redirect to the player', async (t) => {
  const app = await build(t, { BASE_PATH: '/music' })
  const form = await app.inject({ method: 'GET', url: '/music/listen' })
  t.equal(form.statusCode, 200)
  t.match(form.body, /action="\/music\/listen"/)
  t.match(form.body, /<label>Share code/)
  const go = await app.inject({ method: 'GET', url: '/music/listen?code=123%20456&key=k%2By' })
  t.equal(go.statusCode, 303)
  t.equal(go.headers.location, '/music/listen/123456?key=k%2By')
  const badCode = await app.inject({ method: 'GET', url: '/music/listen?code=12&key=x' })
  t.equal(badCode.statusCode, 200)
  t.match(badCode.body, /role="alert">A share code is 6 digits/)
  const noKey = await app.inject({ method: 'GET', url: '/music/listen?code=123456' })
  t.match(noKey.body, /Enter the listen key too/)
  const tooLong = await app.inject({ method: 'GET', url: `/music/listen?code=${'1'.repeat(100)}` })
  t.equal(tooLong.statusCode, 400)
  t.match(tooLong.json(), errorShape('VALIDATION_ERROR'))
})

t.test('listenUrl opens the page, under BASE_PATH', async (t) => {
  const app = await build(t, { BASE_PATH: '/music' })
  const res = await app.inject({ method: 'POST', url: '/music/api/share/start', headers: { ...JSON_HEADERS, host: 'relay.example' }, payload: { sessionId: '123456' } })
  const { listenKey, listenUrl } = res.json()
  t.equal(listenUrl, `http://relay.example/music/listen/123456?key=${listenKey}`)
  const page = await app.inject({ method: 'GET', url: new URL(listenUrl).pathname + new URL(listenUrl).search })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<meta name="music-share-base" content="\/music">/)
})

t.test('a server whose page is not built answers 503 with a clear message', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'no-web-'))
  const app = await build(t, {}, { webDir: empty })
  for (const url of ['/listen', '/listen/123456', '/listen/assets/x.js']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 503, url)
    t.match(res.json(), { ...errorShape('SERVICE_UNAVAILABLE'), error: /not built/ })
  }
})

t.test('escapeHtml', async (t) => {
  t.equal(escapeHtml('<a href="x">\'&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
})
