import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { assertBuilt, BUILT_SERVER, listeningUrl, spawnBuiltServer as run } from './built-server.js'
import { findBinary } from './system-binary.js'
import { waitForOutput } from '../bench/lib/proc.js'

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
  const lines = r.stdout().trim().split('\n')
  t.ok(lines.length >= 3 && lines.every((line) => typeof JSON.parse(line).msg === 'string'),
    'stdout is not a terminal: the log is JSON, one object a line, although NODE_ENV is not production')
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

// A pseudo-terminal for the server's stdout, as when a person runs `npm start` in a shell: util-linux's
// `script` runs the command on one and copies what it prints to our pipe.
const script = findBinary('script', 'util-linux')
// eslint-disable-next-line no-control-regex -- colour codes start with ESC; they are what is stripped
const ANSI = /\x1b\[[0-9;]*m/g

/** The built server on a terminal; resolves with its URL, its process id and everything it printed so far. */
async function runOnTerminal (t: Test, env: Record<string, string>) {
  const child = spawn(script.path, ['-qfec', 'exec "$NODE" "$SERVER"', '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', SHELL: '/bin/sh', NODE: process.execPath, SERVER: BUILT_SERVER, HOST: '127.0.0.1', PORT: '0', MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.resume()
  t.teardown(() => { child.kill('SIGKILL') })
  const url = (await waitForOutput(child, /Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 'server on a terminal'))[1]!
  // `exec`: the server is the one child of `script`.
  const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim())
  return { child, url, pid, text: () => out.replace(ANSI, '').replace(/\r/g, '') }
}

t.test('on a terminal the log is pretty-printed, secrets still redacted; the last lines reach it on shutdown', { skip: script.skip }, async (t) => {
  const server = await runOnTerminal(t, { BEARER_TOKEN: 'terminal-token', LOG_LEVEL: 'trace' })
  const status = await fetch(`${server.url}/api/share/123456/status?key=listen-key-xyz`, { headers: { authorization: 'Bearer wrong-token-xyz' } })
  t.equal(status.status, 401)
  process.kill(server.pid, 'SIGTERM')
  const [code] = await once(server.child, 'exit')
  t.equal(code, 0, 'SIGTERM: exit 0')
  const text = server.text()
  t.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: Server listening at http:\/\/127\.0\.0\.1:\d+$/m, 'a time, the level and the message on one line')
  t.match(text, /^\[[\d:.]+\] INFO: shutdown complete$/m, 'written before the process exited')
  t.notMatch(text, /^\{"level"/m, 'no JSON line')
  t.match(text, /^\[[\d:.]+\] WARN: authentication failed\n {4}reqId: "req-1"$/m, 'fields on their own lines under the message')
  t.notMatch(text, /wrong-token-xyz|terminal-token|listen-key-xyz/, 'no token or listen key')
})

t.test('on a terminal with NODE_ENV=production the log stays JSON', { skip: script.skip }, async (t) => {
  const server = await runOnTerminal(t, { BEARER_TOKEN: 'x', NODE_ENV: 'production' })
  process.kill(server.pid, 'SIGTERM')
  await once(server.child, 'exit')
  const lines = server.text().trim().split('\n')
  t.ok(lines.some((line) => /"msg":"Server listening at/.test(line)))
  t.ok(lines.every((line) => typeof JSON.parse(line).msg === 'string'), 'every line is a JSON log object')
})
