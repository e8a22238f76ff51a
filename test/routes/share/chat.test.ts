import t from 'tap'
import type { InjectOptions } from 'fastify'
import type { App } from '../../../app.js'
import { build, CLIENT_HEADERS, errorShape, JSON_HEADERS } from '../../helper.js'

const SHARER_ADDRESS = '10.0.0.1'
const url = (path = '', key?: string) => `/api/share/123456/chat${path}${key === undefined ? '' : `?key=${encodeURIComponent(key)}`}`

/** Starts 123456 from SHARER_ADDRESS; answers its listen key and sharer key. */
async function start (app: App) {
  const res = await app.inject({ method: 'POST', url: '/api/share/start', headers: JSON_HEADERS, payload: { sessionId: '123456' }, remoteAddress: SHARER_ADDRESS })
  if (res.statusCode !== 200) throw new Error(res.body)
  return res.json() as { listenKey: string, sharerKey: string }
}

/** A listener's POST, by listen key (no Authorization), as X-Client-Id `client`. */
const post = (app: App, key: string, body: unknown, headers: Record<string, string> = {}) => app.inject({
  method: 'POST', url: url('', key), headers: { 'content-type': 'application/json', 'x-client-id': 'listener-1', ...headers }, payload: body as object
})

t.test('listeners post with the listen key or the token and read the history; the sharer\'s key marks its messages', async (t) => {
  const app = await build(t)
  const { listenKey, sharerKey } = await start(app)
  const before = Date.now()
  const first = await post(app, listenKey, { name: ' Ann ', text: 'Hello\u202E there' })
  t.equal(first.statusCode, 200)
  t.same(Object.keys(first.json().message), ['id', 'name', 'text', 'sentAt', 'fromSharer'])
  t.match(first.json(), { success: true, message: { id: 1, name: 'Ann', text: 'Hello there', fromSharer: false } }, 'stored cleaned')
  t.ok(first.json().message.sentAt >= before)

  const byToken = await app.inject({ method: 'POST', url: url(), headers: JSON_HEADERS, payload: { name: 'Bob', text: 'with the token' } })
  t.match(byToken.json(), { message: { id: 2, fromSharer: false } })
  const fromDesktopAddress = await app.inject({ method: 'POST', url: url(), headers: JSON_HEADERS, payload: { name: 'Sharer?', text: 'no key' }, remoteAddress: SHARER_ADDRESS })
  t.match(fromDesktopAddress.json(), { message: { id: 3, fromSharer: false } }, 'the starting address without the key is a listener like any other')
  const bySharer = await post(app, listenKey, { name: 'DJ', text: 'welcome' }, { 'x-sharer-key': sharerKey })
  t.match(bySharer.json(), { message: { id: 4, name: 'DJ', fromSharer: true } })
  const wrongKey = await post(app, listenKey, { name: 'DJ', text: 'it is me' }, { 'x-sharer-key': 'not-the-key' })
  t.equal(wrongKey.statusCode, 403)
  t.match(wrongKey.json(), errorShape('FORBIDDEN'))

  const all = await app.inject({ url: url('', listenKey) })
  t.equal(all.statusCode, 200)
  t.same(all.json().messages.map((m: { id: number }) => m.id), [1, 2, 3, 4])
  t.equal(all.json().more, false)
  const page = await app.inject({ url: `${url()}?since=1&limit=2`, headers: CLIENT_HEADERS })
  t.same(page.json().messages.map((m: { text: string }) => m.text), ['with the token', 'no key'])
  t.equal(page.json().more, true)
  t.same((await app.inject({ url: `${url()}?limit=1`, headers: CLIENT_HEADERS })).json().messages.map((m: { id: number }) => m.id), [4], 'no since: the newest page')
  t.equal((await app.inject({ url: `${url()}?key=${listenKey.slice(1)}` })).statusCode, 401, 'a wrong listen key')
  t.equal((await app.inject({ url: url() })).statusCode, 401, 'no credential')
  const otherSession = await app.inject({ method: 'POST', url: '/api/share/654321/chat', headers: JSON_HEADERS, payload: { name: 'a', text: 'b' } })
  t.match(otherSession.json(), errorShape('SESSION_NOT_FOUND'))
})

t.test('bad input is a 4xx in the uniform error format, and a refused message costs no id', async (t) => {
  const app = await build(t)
  const { listenKey, sharerKey } = await start(app)
  // Moderation checks the sharer key first (before the body is read), then the input.
  const sharer = { ...CLIENT_HEADERS, 'x-sharer-key': sharerKey }
  const cases: Array<[string, number, string, InjectOptions]> = [
    ['no name', 400, 'VALIDATION_ERROR', { method: 'POST', url: url('', listenKey), headers: { 'content-type': 'application/json' }, payload: { text: 'x' } }],
    ['a number for text', 400, 'VALIDATION_ERROR', { method: 'POST', url: url('', listenKey), headers: { 'content-type': 'application/json' }, payload: { name: 'a', text: 5 } }],
    ['501 characters after NFC', 400, 'VALIDATION_ERROR', { method: 'POST', url: url('', listenKey), headers: { 'content-type': 'application/json' }, payload: { name: 'a', text: 'é'.normalize('NFD').repeat(501) } }],
    ['a 33-character name', 400, 'VALIDATION_ERROR', { method: 'POST', url: url('', listenKey), headers: { 'content-type': 'application/json' }, payload: { name: 'n'.repeat(33), text: 'x' } }],
    ['only invisible characters', 400, 'VALIDATION_ERROR', { method: 'POST', url: url('', listenKey), headers: { 'content-type': 'application/json' }, payload: { name: 'a', text: '\u202E\u200F\u0007 ' } }],
    ['a body over 16 KB', 413, 'PAYLOAD_TOO_LARGE', { method: 'POST', url: url('', listenKey), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'a', text: 'x'.repeat(17_000) }) }],
    ['not JSON', 400, 'INVALID_JSON', { method: 'POST', url: url('', listenKey), headers: { 'content-type': 'application/json' }, payload: '{"name":' }],
    ['text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE', { method: 'POST', url: url('', listenKey), headers: { 'content-type': 'text/plain' }, payload: 'hi' }],
    ['since=-2', 400, 'VALIDATION_ERROR', { url: `${url()}?since=-2`, headers: CLIENT_HEADERS }],
    ['limit=101', 400, 'VALIDATION_ERROR', { url: `${url()}?limit=101`, headers: CLIENT_HEADERS }],
    ['message id 0', 400, 'VALIDATION_ERROR', { method: 'DELETE', url: url('/0'), headers: sharer }],
    ['message id abc', 400, 'VALIDATION_ERROR', { method: 'DELETE', url: url('/abc'), headers: sharer }],
    ['mute without a message id', 400, 'VALIDATION_ERROR', { method: 'POST', url: url('/mute'), headers: { ...sharer, 'content-type': 'application/json' }, payload: {} }],
    ['mute of a string id', 400, 'VALIDATION_ERROR', { method: 'POST', url: url('/mute'), headers: { ...sharer, 'content-type': 'application/json' }, payload: { messageId: '1' } }]
  ]
  for (const [what, status, code, request] of cases) {
    const res = await app.inject(request)
    t.equal(res.statusCode, status, what)
    t.match(res.json(), errorShape(code), what)
  }
  t.match((await post(app, listenKey, { name: 'a', text: 'ok' })).json(), { message: { id: 1 } }, 'the first message taken is 1')
})

t.test('rate limit: a burst of five, then 429 with Retry-After; another listener is not held back; metrics count refusals by reason', async (t) => {
  const app = await build(t)
  const { listenKey } = await start(app)
  for (let i = 0; i < 5; i++) t.equal((await post(app, listenKey, { name: 'Ann', text: `burst ${i}` })).statusCode, 200)
  const limited = await post(app, listenKey, { name: 'Ann', text: 'one too many' })
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), errorShape('RATE_LIMITED'))
  t.equal(limited.headers['retry-after'], '1')
  t.equal((await post(app, listenKey, { name: 'Ann', text: 'renamed, same listener' })).statusCode, 429, 'a new name is the same listener')
  t.equal((await post(app, listenKey, { name: 'Bob', text: 'hi' }, { 'x-client-id': 'listener-2' })).statusCode, 200)
  await post(app, listenKey, { name: 'Bob', text: '' }, { 'x-client-id': 'listener-2' })

  const scrape = (await app.inject({ url: '/metrics' })).body
  t.match(scrape, /^musicshare_chat_messages_total 6$/m)
  t.match(scrape, /^musicshare_chat_refused_total\{reason="rate_limited"\} 2$/m)
  t.match(scrape, /^musicshare_chat_refused_total\{reason="session_cap"\} 0$/m, 'every reason has a series from the start')
  t.match(scrape, /^musicshare_chat_refused_total\{reason="muted"\} 0$/m)
  t.match(scrape, /^musicshare_chat_refused_total\{reason="invalid"\} 0$/m, 'an empty text is refused by the schema, before the chat')
})

t.test('the session cap holds back everyone together (CHAT_SESSION_MESSAGES_PER_SECOND)', async (t) => {
  const app = await build(t, { CHAT_SESSION_MESSAGES_PER_SECOND: '0.5' })
  const { listenKey, sharerKey } = await start(app)
  // Burst: four seconds' worth, but never under one listener's burst (5).
  for (let i = 0; i < 5; i++) t.equal((await post(app, listenKey, { name: 'n', text: 'x' }, { 'x-client-id': `c${i}` })).statusCode, 200)
  const capped = await post(app, listenKey, { name: 'n', text: 'x' }, { 'x-client-id': 'c9' })
  t.equal(capped.statusCode, 429)
  t.equal(capped.headers['retry-after'], '2')
  t.equal((await post(app, listenKey, { name: 'DJ', text: 'still here' }, { 'x-sharer-key': sharerKey })).statusCode, 200, 'not the sharer')
  t.match((await app.inject({ url: '/metrics' })).body, /^musicshare_chat_refused_total\{reason="session_cap"\} 1$/m)
})

t.test('moderation needs the sharer key: delete one message, mute a listener (its messages go, its next ones are refused)', async (t) => {
  const app = await build(t, { CHAT_BURST: '20' })
  const { listenKey, sharerKey } = await start(app)
  const say = (client: string, text: string) => post(app, listenKey, { name: client, text }, { 'x-client-id': client })
  for (const [client, text] of [['ann', 'a1'], ['bob', 'b1'], ['ann', 'a2'], ['bob', 'b2']]) await say(client!, text!)
  const sharer = { 'x-sharer-key': sharerKey }

  const noKey = await app.inject({ method: 'DELETE', url: url('/2', listenKey) })
  t.equal(noKey.statusCode, 403)
  t.match(noKey.json(), errorShape('FORBIDDEN'))
  t.equal((await app.inject({ method: 'DELETE', url: url('/2'), headers: CLIENT_HEADERS, remoteAddress: SHARER_ADDRESS })).statusCode, 403,
    'the starting address is not enough: only the key holder moderates')
  t.equal((await app.inject({ method: 'DELETE', url: url('/2', listenKey), headers: { 'x-sharer-key': 'wrong' } })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: url('/mute', listenKey), headers: { 'content-type': 'application/json' }, payload: { messageId: 1 } })).statusCode, 403)

  const deleted = await app.inject({ method: 'DELETE', url: url('/2', listenKey), headers: sharer })
  t.same(deleted.json(), { success: true, messageIds: [2] })
  t.match((await app.inject({ method: 'DELETE', url: url('/2', listenKey), headers: sharer })).json(), errorShape('MESSAGE_NOT_FOUND'))
  const muted = await app.inject({ method: 'POST', url: url('/mute', listenKey), headers: { ...sharer, 'content-type': 'application/json' }, payload: { messageId: 3 } })
  t.same(muted.json(), { success: true, messageIds: [1, 3] }, 'every message of the sender of 3')
  const history = await app.inject({ url: url('', listenKey) })
  t.same(history.json().messages.map((m: { text: string }) => m.text), ['b2'])

  const refused = await say('ann', 'let me back in')
  t.equal(refused.statusCode, 403)
  t.match(refused.json(), errorShape('CHAT_MUTED'))
  t.equal((await post(app, listenKey, { name: 'Totally Not Ann', text: 'hi' }, { 'x-client-id': 'ann' })).statusCode, 403, 'a new name does not help')
  t.equal((await say('bob', 'b3')).statusCode, 200, 'others still talk')
  const mine = await post(app, listenKey, { name: 'DJ', text: 'mine' }, sharer)
  const muteSharer = await app.inject({ method: 'POST', url: url('/mute', listenKey), headers: { ...sharer, 'content-type': 'application/json' }, payload: { messageId: mine.json().message.id } })
  t.match(muteSharer.json(), errorShape('VALIDATION_ERROR'), 'the sharer cannot mute itself')
  t.match((await app.inject({ url: '/metrics' })).body, /^musicshare_chat_refused_total\{reason="muted"\} 2$/m)
})

t.test('an ended session\'s chat is gone: every chat route answers SESSION_ENDED', async (t) => {
  const app = await build(t)
  const { listenKey, sharerKey } = await start(app)
  await post(app, listenKey, { name: 'a', text: 'b' })
  const session = app.sessions.requireActive('123456')
  await app.inject({ method: 'POST', url: '/api/share/123456/stop', headers: CLIENT_HEADERS, remoteAddress: SHARER_ADDRESS })
  t.equal(session.chat.entries.length, 0, 'the history is freed with the session')
  for (const request of [
    { url: url('', listenKey) },
    { method: 'POST' as const, url: url('', listenKey), headers: { 'content-type': 'application/json' }, payload: { name: 'a', text: 'b' } },
    { method: 'DELETE' as const, url: url('/1', listenKey), headers: { 'x-sharer-key': sharerKey } },
    { method: 'POST' as const, url: url('/mute', listenKey), headers: { 'x-sharer-key': sharerKey, 'content-type': 'application/json' }, payload: { messageId: 1 } }
  ]) {
    const res = await app.inject(request)
    t.equal(res.statusCode, 404, `${request.method ?? 'GET'} ${request.url.split('?')[0]}`)
    t.match(res.json(), errorShape('SESSION_ENDED'))
  }
  // Started again: a new chat, from id 1.
  const again = await start(app)
  t.match((await post(app, again.listenKey, { name: 'a', text: 'new' })).json(), { message: { id: 1 } })
  t.same((await app.inject({ url: url('', again.listenKey) })).json().messages.map((m: { text: string }) => m.text), ['new'])
})

t.test('no log line carries a chat text, a name, a listen key or a sharer key, whatever happens', async (t) => {
  const lines: string[] = []
  const app = await build(t, { CHAT_BURST: '2' }, { logger: { level: 'trace', stream: { write: (l: string) => { lines.push(l) } } } })
  const { listenKey, sharerKey } = await start(app)
  const TEXT = 'xyzzy-secret-words'
  const NAME = 'Plugh Nameless'
  await post(app, listenKey, { name: NAME, text: TEXT })
  await post(app, listenKey, { name: NAME, text: `${TEXT} 2` })
  await post(app, listenKey, { name: NAME, text: `${TEXT} limited` })
  await post(app, listenKey, { name: NAME, text: `${TEXT}\u202E`.repeat(40) })
  await post(app, listenKey, { name: NAME, text: TEXT }, { 'x-sharer-key': `${sharerKey}x` })
  await app.inject({ method: 'POST', url: url('/mute', listenKey), headers: { 'x-sharer-key': sharerKey, 'content-type': 'application/json' }, payload: { messageId: 1 } })
  await post(app, listenKey, { name: NAME, text: `${TEXT} muted` })
  await app.inject({ method: 'DELETE', url: url('/1', `${listenKey}x`), headers: { 'x-sharer-key': sharerKey } })
  const log = lines.join('')
  t.match(log, /chat listener muted by the sharer/, 'the log is there, at trace level')
  t.match(log, /write refused: not the sharer/)
  for (const secret of [TEXT, NAME, 'Plugh', listenKey, sharerKey]) t.notOk(log.includes(secret), `the log never holds ${secret.slice(0, 8)}…`)
})
