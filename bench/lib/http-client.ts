import { Agent, request, type OutgoingHttpHeaders } from 'node:http'
import { performance } from 'node:perf_hooks'

export interface HttpResult {
  /** HTTP status, or an error label ('timeout', 'ECONNRESET', ...) when no response arrived. */
  status: number | string
  body: Buffer
  /** Request start to last body byte, ms. */
  latencyMs: number
  startedAt: number
  endedAt: number
  bytesOut: number
}

const EMPTY = Buffer.alloc(0)

/**
 * One simulated client: its own keep-alive Agent (as each desktop app has its own HttpClient pool), fixed
 * headers, and no socket cap, so overlapping requests open extra sockets instead of queueing (open loop).
 */
export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity })
  private readonly hostname: string
  private readonly port: number
  private readonly prefix: string

  constructor (baseUrl: string, private readonly headers: OutgoingHttpHeaders, private readonly timeoutMs = 10_000) {
    const u = new URL(baseUrl)
    this.hostname = u.hostname
    this.port = Number(u.port || 80)
    this.prefix = u.pathname.replace(/\/$/, '')
  }

  /** `body` pieces are written as they are (no concatenation); they are sent as application/json. */
  send (method: 'GET' | 'POST', path: string, body?: readonly Buffer[]): Promise<HttpResult> {
    const startedAt = performance.now()
    const headers: OutgoingHttpHeaders = { ...this.headers }
    let bytesOut = 0
    if (body !== undefined) {
      for (const b of body) bytesOut += b.length
      headers['content-type'] = 'application/json'
      headers['content-length'] = bytesOut
    }
    return new Promise((resolve) => {
      const done = (status: number | string, resBody: Buffer): void => {
        const endedAt = performance.now()
        resolve({ status, body: resBody, latencyMs: endedAt - startedAt, startedAt, endedAt, bytesOut })
      }
      const req = request({ hostname: this.hostname, port: this.port, method, path: this.prefix + path, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => { chunks.push(c); size += c.length })
        res.on('end', () => done(res.statusCode ?? 0, chunks.length === 1 ? chunks[0] ?? EMPTY : size === 0 ? EMPTY : Buffer.concat(chunks, size)))
        res.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'response-error', EMPTY))
      })
      req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })))
      req.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message, EMPTY))
      if (body !== undefined) {
        req.cork()
        for (const b of body) req.write(b)
        req.uncork()
      }
      req.end()
    })
  }

  close (): void {
    this.agent.destroy()
  }
}
