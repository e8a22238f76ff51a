import t from 'tap'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { build, clientChunk, CLIENT_HEADERS, errorShape, JSON_HEADERS, startSession, TOKEN } from '../helper.js'

type App = Awaited<ReturnType<typeof build>>

async function listen (t: Parameters<typeof build>[0], env: Record<string, string>) {
  const app = await build(t, env)
  const url = new URL(await app.listen({ port: 0, host: '127.0.0.1' }))
  return { app, port: Number(url.port), base: url.origin }
}

function openSocket (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket))
    socket.on('error', reject)
  })
}

/** Resolves with what the server sent once it closes the socket, and how long that took. */
function whenClosed (socket: Socket): Promise<{ received: string, afterMs: number }> {
  const started = Date.now()
  let received = ''
  socket.on('data', (d) => { received += d })
  socket.on('error', () => {})
  return new Promise((resolve) => socket.on('close', () => resolve({ received, afterMs: Date.now() - started })))
}

async function chunkCount (app: App) {
  return app.sessions.requireActive('123456').audio.chunkCount
}

t.test('headers trickled byte by byte are cut off at HEADERS_TIMEOUT_SECONDS; others are served meanwhile', async (t) => {
  const { app, port, base } = await listen(t, { HEADERS_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '2' })
  const socket = await openSocket(port)
  const closed = whenClosed(socket)
  const request = `GET /api/share/123456/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nX-Padding: ${'a'.repeat(200)}\r\n\r\n`
  let i = 0
  const trickle = setInterval(() => { if (!socket.destroyed && i < request.length) socket.write(request[i++]!) }, 20)
  t.teardown(() => clearInterval(trickle))
  await sleep(300)
  t.equal((await fetch(`${base}/health`)).status, 200, 'a normal client is served while one trickles')
  const { received, afterMs } = await closed
  t.ok(afterMs < 3500, `closed after ${afterMs} ms`)
  t.match(received, /^HTTP\/1\.1 408|^$/, 'answered 408 (or simply closed)')
  t.ok(i < request.length, 'the headers never completed')
  void app
})

t.test('a 235 KB body sent at a few bytes a second is cut off at REQUEST_TIMEOUT_SECONDS and stores nothing', async (t) => {
  const { app, port } = await listen(t, { HEADERS_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '2' })
  await startSession(app)
  const body = JSON.stringify(clientChunk(0))
  const socket = await openSocket(port)
  const closed = whenClosed(socket)
  socket.write(`POST /api/share/123456/audio HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
  let sent = 0
  const trickle = setInterval(() => { if (!socket.destroyed) socket.write(body.slice(sent, sent += 8)) }, 50)
  t.teardown(() => clearInterval(trickle))
  const { afterMs } = await closed
  t.ok(afterMs < 4500, `closed after ${afterMs} ms`)
  t.ok(sent < body.length, `only ${sent} of ${body.length} bytes were sent`)
  t.equal(await chunkCount(app), 0, 'nothing was stored')
  t.equal((await app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })).statusCode, 200)
})

t.test('an upload aborted halfway frees everything; a receiver that hangs up mid-response costs nothing', async (t) => {
  const { app, port, base } = await listen(t, {})
  await startSession(app)
  const body = JSON.stringify(clientChunk(0))
  for (let i = 0; i < 20; i++) {
    const socket = await openSocket(port)
    const closed = whenClosed(socket)
    socket.write(`POST /api/share/123456/audio HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
    socket.write(body.slice(0, body.length / 2))
    await sleep(5)
    socket.destroy()
    await closed
  }
  t.equal(await chunkCount(app), 0, 'no half upload was stored')
  for (let seq = 0; seq < 10; seq++) {
    const res = await fetch(`${base}/api/share/123456/audio`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(clientChunk(seq)) })
    t.equal(res.status, 200)
  }
  for (let i = 0; i < 20; i++) {
    const socket = await openSocket(port)
    const closed = whenClosed(socket)
    socket.write(`GET /api/share/123456/audio?since=-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    await once(socket, 'data')
    socket.destroy()
    await closed
  }
  const res = await fetch(`${base}/api/share/123456/audio?since=8`, { headers: CLIENT_HEADERS })
  t.equal(res.status, 200, 'the server still answers')
  t.equal(((await res.json()) as unknown[]).length, 1)
})

t.test('idle connections are closed after CONNECTION_TIMEOUT_SECONDS and capped at MAX_CONNECTIONS', async (t) => {
  const { port, base } = await listen(t, { CONNECTION_TIMEOUT_SECONDS: '1', MAX_CONNECTIONS: '300' })
  const sockets = await Promise.all(Array.from({ length: 500 }, () => openSocket(port)))
  const closed = sockets.map(whenClosed)
  const results = await Promise.all(closed)
  const refused = results.filter((r) => r.afterMs < 500).length
  const timedOut = results.filter((r) => r.afterMs >= 500).length
  t.ok(refused >= 200, `${refused} connections past the cap were refused at once`)
  t.ok(timedOut <= 300 && timedOut > 0, `${timedOut} idle connections were closed by the timeout`)
  t.ok(Math.max(...results.map((r) => r.afterMs)) < 3000, 'every idle connection was closed')
  t.equal((await fetch(`${base}/health`)).status, 200, 'the server still answers')
})

t.test('a stalled event loop sheds load with 503 OVERLOADED and Retry-After; /health still answers', async (t) => {
  const app = await build(t, { MAX_EVENT_LOOP_DELAY_MS: '20' })
  await startSession(app)
  // Keep the event loop busy 90 % of the time, as a server drowning in work would be.
  const busy = setInterval(() => { const until = Date.now() + 90; while (Date.now() < until) { /* work */ } }, 100)
  t.teardown(() => clearInterval(busy))
  const status = () => app.inject({ method: 'GET', url: '/api/share/123456/status', headers: CLIENT_HEADERS })
  let res = await status()
  for (let i = 0; i < 30 && res.statusCode !== 503; i++) {
    await sleep(100)
    res = await status()
  }
  t.equal(res.statusCode, 503, 'load is shed within 3 s')
  t.match(res.json(), errorShape('OVERLOADED'))
  t.ok(Number(res.headers['retry-after']) > 0)
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  clearInterval(busy)
  // The loop is idle again: the next samples clear the pressure.
  for (let i = 0; i < 30 && res.statusCode !== 200; i++) {
    await sleep(100)
    res = await status()
  }
  t.equal(res.statusCode, 200, 'served again once the loop is idle')
})
