import t from 'tap'
import { once } from 'node:events'
import { assertBuilt, listeningUrl, spawnBuiltServer as run } from './built-server.js'

t.before(assertBuilt)

t.test('npm start with no settings: generated token printed once, it works, SIGTERM exits 0', async (t) => {
  const r = run({})
  const url = await listeningUrl(r)
  const token = /uses a generated token:\n {2}(\S+)/.exec(r.stderr())?.[1]
  t.ok(token, 'the generated token is printed')
  t.equal(r.stderr().split('generated token').length - 1, 1, 'printed once')
  t.notMatch(r.stdout(), new RegExp(token!), 'the JSON log never carries it')

  t.equal((await fetch(`${url}/health`)).status, 200)
  const start = await fetch(`${url}/api/share/start`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sessionId: '123456' })
  })
  t.equal(start.status, 200)

  r.child.kill('SIGTERM')
  const [code] = await once(r.child, 'exit')
  t.equal(code, 0)
  t.match(r.stdout(), /"msg":"shutdown complete"/)
})

t.test('NODE_ENV=production without BEARER_TOKEN refuses to start with a clear message', async (t) => {
  const r = run({ NODE_ENV: 'production' })
  const [code] = await once(r.child, 'exit')
  t.equal(code, 1)
  t.match(r.stderr(), /BEARER_TOKEN: must be set when NODE_ENV=production/)
})

t.test('an invalid variable stops start-up naming it', async (t) => {
  const r = run({ BEARER_TOKEN: 'x', MAX_SESSIONS: 'many' })
  const [code] = await once(r.child, 'exit')
  t.equal(code, 1)
  t.match(r.stderr(), /MAX_SESSIONS="many"/)
})

t.test('SIGTERM lets an in-flight request finish', async (t) => {
  const r = run({ BEARER_TOKEN: 'x' })
  const url = await listeningUrl(r)
  const auth = { authorization: 'Bearer x', 'content-type': 'application/json' }
  await fetch(`${url}/api/share/start`, { method: 'POST', headers: auth, body: JSON.stringify({ sessionId: '123456' }) })
  // A slow upload: the body arrives in two parts, with SIGTERM in between.
  const { request } = await import('node:http')
  const body = JSON.stringify({ data: 'AAAAAAAAAAA=', sampleRate: 44100, channels: 1, timestamp: 1, sequenceNumber: 0 })
  const done = new Promise<number>((resolve, reject) => {
    const req = request(`${url}/api/share/123456/audio`, { method: 'POST', headers: { ...auth, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.write(body.slice(0, 10))
    setTimeout(() => {
      r.child.kill('SIGTERM')
      setTimeout(() => req.end(body.slice(10)), 200)
    }, 100)
  })
  t.equal(await done, 200, 'the in-flight upload completed')
  const [code] = await once(r.child, 'exit')
  t.equal(code, 0)
  t.equal(r.stderr(), '', 'with a configured token nothing is written outside the log')
  const lines = r.stdout().split('\n').filter((line) => line !== '')
  t.ok(lines.length > 0)
  const isJson = (line: string) => { try { JSON.parse(line); return true } catch { return false } }
  t.same(lines.filter((line) => !isJson(line)), [], 'every stdout line is a JSON log line')
})
