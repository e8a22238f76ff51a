import t from 'tap'
import sharerGuard from '../../plugins/sharer-guard.js'
import { newSharerKey } from '../../src/session/sharer-binding.js'
import { alone, assertDependencies, errorShape } from './alone-helper.js'

const SHARER = '10.0.0.1'
const STRANGER = '10.0.0.99'

async function build (t: Parameters<typeof alone>[0], env: Record<string, string> = {}) {
  // error-handler added: it turns the plugin's FORBIDDEN into a 403 in the uniform format.
  const app = await alone(t, sharerGuard, { adds: ['error-handler'], env })
  app.post('/s/:sessionId/write', { config: { sharerOnly: true } }, async () => ({ written: true }))
  app.get('/s/:sessionId/read', async () => ({ read: true }))
  await app.ready()
  const { key, binding } = newSharerKey(SHARER)
  app.sessions.start('123456', Date.now(), binding)
  const write = (remoteAddress: string, sharerKey?: string, sessionId = '123456') => app.inject({
    method: 'POST', url: `/s/${sessionId}/write`, remoteAddress, headers: sharerKey === undefined ? {} : { 'x-sharer-key': sharerKey }
  })
  return { app, key, write }
}

t.test('a stranger\'s write to a sharerOnly route is refused with 403; the sharer\'s goes through', async (t) => {
  const { app, key, write } = await build(t)
  const refused = await write(STRANGER)
  t.equal(refused.statusCode, 403)
  t.match(refused.json(), errorShape('FORBIDDEN'))
  const wrongKey = await write(SHARER, 'not-the-key')
  t.equal(wrongKey.statusCode, 403, 'a wrong key is refused even from the starting address')
  t.equal(wrongKey.json().error, 'X-Sharer-Key does not match this session')

  t.equal((await write(SHARER)).statusCode, 200, 'the starting address without a key (the desktop client)')
  t.equal((await write(STRANGER, key)).statusCode, 200, 'the sharer key from anywhere')
  t.equal((await write(STRANGER, undefined, '654321')).statusCode, 200, 'an unknown session is the route\'s to answer')
  t.equal((await app.inject({ url: '/s/123456/read', remoteAddress: STRANGER })).statusCode, 200, 'routes without sharerOnly are not guarded')
})

t.test('SESSION_WRITE_GUARD=key: the address is not enough; =off: nothing is guarded', async (t) => {
  const strict = await build(t, { SESSION_WRITE_GUARD: 'key' })
  t.equal((await strict.write(SHARER)).statusCode, 403)
  t.equal((await strict.write(STRANGER, strict.key)).statusCode, 200)
  const off = await build(t, { SESSION_WRITE_GUARD: 'off' })
  t.equal((await off.write(STRANGER)).statusCode, 200)
})

t.test('config.sharerKey reads X-Sharer-Key whatever the mode: required refuses without it, optional marks the request', async (t) => {
  for (const mode of ['key-or-address', 'off']) {
    const app = await alone(t, sharerGuard, { adds: ['error-handler'], env: { SESSION_WRITE_GUARD: mode } })
    app.post('/s/:sessionId/moderate', { config: { sharerKey: 'required' } }, async (request) => ({ sharer: request.sharerKey }))
    app.post('/s/:sessionId/say', { config: { sharerKey: 'optional' } }, async (request) => ({ sharer: request.sharerKey }))
    await app.ready()
    const { key, binding } = newSharerKey(SHARER)
    app.sessions.start('123456', Date.now(), binding)
    app.sessions.start('222222', Date.now())
    const call = (path: string, sharerKey?: string, sessionId = '123456') => app.inject({
      method: 'POST', url: `/s/${sessionId}/${path}`, remoteAddress: SHARER, headers: sharerKey === undefined ? {} : { 'x-sharer-key': sharerKey }
    })
    t.match((await call('moderate')).json(), errorShape('FORBIDDEN'), `${mode}: the starting address is not enough to moderate`)
    t.equal((await call('moderate', 'wrong')).statusCode, 403)
    t.same((await call('moderate', key)).json(), { sharer: true })
    t.same((await call('say')).json(), { sharer: false }, `${mode}: without the key, not the sharer`)
    t.same((await call('say', key)).json(), { sharer: true })
    t.equal((await call('say', 'wrong')).statusCode, 403, 'a wrong key is refused, not ignored')
    t.equal((await call('moderate', key, '222222')).statusCode, 403, 'a session without a binding has no key anyone holds')
    t.same((await call('moderate', undefined, '654321')).json(), { sharer: false }, 'an unknown session is the route\'s to answer')
  }
})

t.test('declares config and session-registry and fails without either',
  (t) => assertDependencies(t, sharerGuard, ['config', 'session-registry']))
