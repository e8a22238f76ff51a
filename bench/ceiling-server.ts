/**
 * The ceiling: a minimal relay for Music Share traffic. Plain node:http, in memory, no validation, no auth,
 * no logging. Each body is JSON-parsed (any client's JSON, the desktop client's `\u002B` escapes included);
 * a chunk's JSON is built once when it is posted and the metadata kept as it came; GET responses are
 * written as the stored buffers. Our real server is judged against this one in the same run.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { pathToFileURL } from 'node:url'

const PREFIX = '/api/share/'
const RING = 10 // 5 s of 0.5 s chunks
const LIVE = 4 // since=-1 answers the newest ~2 s

interface Chunk { seq: number, json: Buffer }
interface Session {
  startTime: number
  metadata: Buffer | undefined
  song: { title: string, artist: string } | null
  chunks: Chunk[]
  listeners: Set<string>
}

const lit = (s: string): Buffer => Buffer.from(s, 'latin1')
const OPEN = lit('[')
const COMMA = lit(',')
const CLOSE = lit(']')

function json (res: ServerResponse, status: number, body: unknown): void {
  const b = Buffer.from(JSON.stringify(body))
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': b.length }).end(b)
}

function readBody (req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => resolve(parts.length === 1 ? parts[0] as Buffer : Buffer.concat(parts)))
    req.on('error', reject)
  })
}

export function createCeilingServer (): Server {
  const sessions = new Map<string, Session>()

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/'
    if (url === '/health') return json(res, 200, { status: 'healthy', activeSessions: sessions.size })
    if (!url.startsWith(PREFIX)) return json(res, 404, { success: false, error: 'Not found' })
    const q = url.indexOf('?')
    const path = url.slice(PREFIX.length, q < 0 ? undefined : q)
    if (path === 'start' && req.method === 'POST') {
      const { sessionId } = JSON.parse((await readBody(req)).toString()) as { sessionId: string }
      if (sessions.has(sessionId)) return json(res, 409, { success: false, error: 'Session ID already in use' })
      const startTime = Date.now()
      sessions.set(sessionId, { startTime, metadata: undefined, song: null, chunks: [], listeners: new Set() })
      return json(res, 200, { success: true, sessionId, timestamp: startTime })
    }
    const slash = path.indexOf('/')
    const session = sessions.get(path.slice(0, slash))
    const action = `${req.method ?? ''} ${path.slice(slash + 1)}`
    if (session === undefined) {
      if (req.method === 'POST') await readBody(req)
      return json(res, 404, { success: false, isActive: false, error: 'Session not found' })
    }
    if (req.method === 'GET') session.listeners.add(String(req.headers['x-client-id'] ?? `${req.socket.remoteAddress ?? ''}|${req.headers['user-agent'] ?? ''}`))
    switch (action) {
      case 'POST audio': {
        // Parsed as any JSON (so the desktop client's `\u002B` escapes read as '+'), kept as its own JSON.
        const c = JSON.parse((await readBody(req)).toString()) as { data: string, sampleRate: number, channels: number, timestamp: number, sequenceNumber: number }
        const chunkJson = JSON.stringify({ data: c.data, sampleRate: c.sampleRate, channels: c.channels, timestamp: c.timestamp, sequenceNumber: c.sequenceNumber })
        session.chunks.push({ seq: c.sequenceNumber, json: Buffer.from(chunkJson, 'latin1') })
        if (session.chunks.length > RING) session.chunks.shift()
        return json(res, 200, { success: true, buffered: true })
      }
      case 'GET audio': {
        const since = Number(new URLSearchParams(url.slice(q + 1)).get('since') ?? -1)
        const picked = since < 0
          ? session.chunks.slice(-LIVE)
          : session.chunks.filter((c) => c.seq > since).slice(0, RING)
        if (picked.length === 0) return void res.writeHead(204).end()
        let length = 1 + picked.length
        for (const c of picked) length += c.json.length
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': length })
        res.cork()
        picked.forEach((c, i) => { res.write(i === 0 ? OPEN : COMMA); res.write(c.json) })
        res.end(CLOSE)
        return
      }
      case 'POST metadata': {
        // Parsed as every body is (status answers with its title and artist), kept as the JSON it came as.
        const body = await readBody(req)
        const { title, artist } = JSON.parse(body.toString()) as { title: string, artist: string }
        session.metadata = body
        session.song = { title, artist }
        return json(res, 200, { success: true, listenersNotified: session.listeners.size })
      }
      case 'GET metadata':
        if (session.metadata === undefined) return json(res, 404, { error: 'Session not found or no metadata available' })
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': session.metadata.length }).end(session.metadata)
      case 'GET status': {
        const m = session.song
        return json(res, 200, {
          isActive: true,
          startTime: session.startTime,
          listenerCount: session.listeners.size,
          currentMetadata: m === null ? null : { title: m.title, artist: m.artist }
        })
      }
      case 'POST stop':
        await readBody(req)
        sessions.delete(path.slice(0, slash))
        return json(res, 200, { success: true, sessionDuration: (Date.now() - session.startTime) / 1000, bytesTransferred: 0 })
      default:
        return json(res, 404, { success: false, error: 'Not found' })
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => { if (!res.headersSent) json(res, 500, { success: false, error: 'Internal error' }) })
  })
  // Fastify's default (72 s), so idle keep-alive sockets live as long as they do against the real server.
  server.keepAliveTimeout = 72_000
  return server
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createCeilingServer()
  server.listen(Number(process.env.PORT ?? 5000), process.env.HOST ?? '127.0.0.1')
  const shutdown = (): void => { server.close(() => process.exit(0)); server.closeAllConnections() }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
