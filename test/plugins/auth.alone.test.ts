import t from 'tap'
import auth from '../../plugins/auth.js'
import { alone, assertDependencies, errorShape, TOKEN } from './alone-helper.js'

t.test('verifyBearer: 401 with WWW-Authenticate without the token, 200 with it', async (t) => {
  // error-handler added: it turns the plugin's CredentialError into 401 + WWW-Authenticate.
  const app = await alone(t, auth, { adds: ['error-handler'] })
  app.get('/private', { onRequest: app.verifyBearer }, async (request) => ({ credential: request.credential }))
  await app.ready()

  const missing = await app.inject({ url: '/private' })
  t.equal(missing.statusCode, 401)
  t.equal(missing.headers['www-authenticate'], 'Bearer')
  t.match(missing.json(), { ...errorShape('UNAUTHORIZED'), error: 'Missing Authorization header' })
  const wrong = await app.inject({ url: '/private', headers: { authorization: 'Bearer nope' } })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().error, 'Invalid bearer token')

  const ok = await app.inject({ url: '/private', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { credential: 'bearer' })
})

t.test('verifyCredentials: a receiving route also takes its session\'s listen key, and only that one', async (t) => {
  const app = await alone(t, auth, { adds: ['error-handler'] })
  app.get('/listen/:sessionId', { onRequest: app.verifyCredentials, config: { auth: 'receive' } },
    async (request) => ({ credential: request.credential }))
  app.get('/send/:sessionId', { onRequest: app.verifyCredentials }, async (request) => ({ credential: request.credential }))
  await app.ready()

  const key = app.listenKeys.keyFor('123456')
  const listen = await app.inject({ url: `/listen/123456?key=${key}` })
  t.equal(listen.statusCode, 200)
  t.same(listen.json(), { credential: 'listen-key' })

  const otherSession = await app.inject({ url: `/listen/654321?key=${key}` })
  t.equal(otherSession.statusCode, 401)
  t.equal(otherSession.headers['www-authenticate'], undefined, 'a listen key is not a bearer credential')
  t.equal(otherSession.json().error, 'Invalid listen key')

  const sending = await app.inject({ url: `/send/123456?key=${key}` })
  t.equal(sending.statusCode, 401, 'a route that is not receiving takes the bearer token only')
  t.equal(sending.headers['www-authenticate'], 'Bearer')

  const bearer = await app.inject({ url: '/listen/123456', headers: { authorization: TOKEN } })
  t.same(bearer.json(), { credential: 'bearer' }, 'the bare token works on receiving routes too')
})

t.test('declares config and fails without it', (t) => assertDependencies(t, auth, ['config']))
