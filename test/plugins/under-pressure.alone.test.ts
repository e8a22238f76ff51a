import t from 'tap'
import underPressure from '../../plugins/under-pressure.js'
import { alone, assertDependencies, errorShape, until } from './alone-helper.js'

t.test('past MAX_HEAP_USED_MB requests get 503 OVERLOADED with Retry-After', async (t) => {
  // error-handler added: it maps @fastify/under-pressure's FST_UNDER_PRESSURE to OVERLOADED.
  const app = await alone(t, underPressure, { env: { MAX_HEAP_USED_MB: '1' }, adds: ['error-handler'] })
  app.get('/work', async () => ({ ok: true }))
  await app.ready()
  t.equal(typeof app.isUnderPressure, 'function')
  // The heap is sampled every second; any heap is over 1 MB.
  const shed = await until(async () => {
    const res = await app.inject({ url: '/work' })
    return res.statusCode === 503 ? res : undefined
  }, 'the first heap sample')
  t.match(shed.json(), errorShape('OVERLOADED'))
  t.equal(shed.headers['retry-after'], '5')
})

t.test('with both limits at 0 nothing is registered and nothing is shed', async (t) => {
  const app = await alone(t, underPressure, { env: { MAX_HEAP_USED_MB: '0' } })
  app.get('/work', async () => ({ ok: true }))
  await app.ready()
  t.notOk(app.hasDecorator('isUnderPressure'))
  t.equal((await app.inject({ url: '/work' })).statusCode, 200)
})

t.test('declares config and fails without it', (t) => assertDependencies(t, underPressure, ['config']))
