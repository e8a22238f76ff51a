import t from 'tap'
import { once } from 'node:events'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import gracefulClose from '../../plugins/graceful-close.js'
import { alone, assertDependencies, errorShape, until } from './alone-helper.js'

/** A raw HTTP/1.1 connection (inject is refused once closing starts, and an agent would not reuse a busy socket). */
class Connection {
  text = ''

  private constructor (readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (data: string) => { this.text += data })
  }

  static async open (port: number): Promise<Connection> {
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    return new Connection(socket)
  }

  get (path: string): void {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`)
  }

  received (pattern: RegExp): Promise<true> {
    return until(() => pattern.test(this.text) || undefined, `a response matching ${pattern}`)
  }
}

/** One response of a raw exchange: status line + headers (lower-cased names), and the body. */
function parse (response: string) {
  const [head = '', body = ''] = response.split('\r\n\r\n')
  const [status = '', ...lines] = head.split('\r\n')
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  return { status, headers, body }
}

t.test('once closing starts: requests in flight finish with Connection: close, new ones get 503 in the uniform format', async (t) => {
  // error-handler added for the uniform format; return503OnClosing: false as app.ts sets it (else Fastify answers first).
  const app = await alone(t, gracefulClose, { adds: ['error-handler'], server: { return503OnClosing: false } })
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let slowEntered!: () => void
  const inSlow = new Promise<void>((resolve) => { slowEntered = resolve })
  app.get('/slow', async () => {
    slowEntered()
    await gate
    return { slow: true }
  })
  const stream = new PassThrough()
  app.get('/stream', async (_request, reply) => reply.type('text/plain').send(stream))
  app.get('/fast', async () => ({ fast: true }))
  let closeStarted!: () => void
  const closing = new Promise<void>((resolve) => { closeStarted = resolve })
  app.addHook('preClose', async () => { closeStarted() }) // after the plugin's own preClose hook
  let refused!: (status: number) => void
  const fastDuringClose = new Promise<number>((resolve) => { refused = resolve })
  let closeBegun = false
  app.addHook('onSend', async (request, reply) => { if (closeBegun && request.url === '/fast') refused(reply.statusCode) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo

  const connections: Connection[] = []
  const open = async () => {
    const connection = await Connection.open(port)
    connections.push(connection)
    return connection
  }
  try {
    const before = await open()
    before.get('/fast')
    await before.received(/\{"fast":true\}/)
    t.equal(parse(before.text).headers.connection, 'keep-alive', 'before closing, connections are kept alive')
    before.socket.destroy()

    const slow = await open()
    slow.get('/slow')
    await inSlow
    // A response already streaming keeps its connection open through the close, for a request sent after it.
    const streaming = await open()
    streaming.get('/stream')
    stream.write('a')
    await streaming.received(/\r\n\r\n/)

    const closed = app.close()
    await closing
    closeBegun = true
    streaming.get('/fast')
    t.equal(await fastDuringClose, 503, 'a request arriving while closing is refused')

    release()
    await slow.received(/\{"slow":true\}/)
    const inFlight = parse(slow.text)
    t.equal(inFlight.status, 'HTTP/1.1 200 OK', 'the request in flight finishes')
    t.equal(inFlight.headers.connection, 'close', '... and tells its client to let go')

    stream.end()
    await streaming.received(/HTTP\/1.1 503[^]*\r\n\r\n\{.*\}$/)
    const refusal = parse(streaming.text.slice(streaming.text.indexOf('HTTP/1.1 503')))
    t.equal(refusal.headers['retry-after'], '5')
    t.equal(refusal.headers.connection, 'close')
    t.match(JSON.parse(refusal.body), { ...errorShape('SERVICE_UNAVAILABLE'), error: 'The server is shutting down; retry shortly' })

    await until(() => (slow.socket.destroyed && streaming.socket.destroyed) || undefined, 'the server to close both connections')
    await closed
  } finally {
    // Without the plugin's Connection: close, kept-alive sockets would hold app.close() until their timeout.
    for (const connection of connections) connection.socket.destroy()
  }
})

t.test('declares no dependencies', (t) => assertDependencies(t, gracefulClose, []))
