import { request as httpRequest, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import WebSocket from 'ws'
import type { App } from '../../app.js'
import { eventually, JSON_HEADERS } from '../helper.js'
import { encodeFloat32Base64 } from '../../src/session/pcm-codec.js'

export const AUTH = { authorization: JSON_HEADERS.authorization }

/** Listens on a free port; answers the base URL. */
export async function listen (app: App): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

/** Polls a condition the server exposes no event for (a listener attached, a slot freed), up to 5 s. */
export async function until (condition: () => boolean, what: string): Promise<void> {
  await eventually(() => condition() || undefined, what, 5_000, 5)
}

export async function postAudio (base: string, seq: number, samples: Float32Array, sessionId = '123456', sampleRate = 44100, channels = 2) {
  const res = await fetch(`${base}/api/share/${sessionId}/audio`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ data: encodeFloat32Base64(samples), sampleRate, channels, timestamp: Date.now(), sequenceNumber: seq })
  })
  if (res.status !== 200) throw new Error(`audio POST ${seq}: ${res.status} ${await res.text()}`)
}

export async function postMetadata (base: string, body: Record<string, unknown>, sessionId = '123456') {
  const res = await fetch(`${base}/api/share/${sessionId}/metadata`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) })
  if (res.status !== 200) throw new Error(`metadata POST: ${res.status} ${await res.text()}`)
}

export async function startOver (base: string, sessionId = '123456') {
  const res = await fetch(`${base}/api/share/start`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ sessionId }) })
  if (res.status !== 200) throw new Error(`start: ${res.status} ${await res.text()}`)
  return await res.json() as { sessionId: string, listenKey: string, listenUrl: string, sharerKey: string }
}

export interface WsMessage { binary: boolean, data: Buffer }

/** A real WebSocket client that records every message and how the socket closed. */
export async function openWs (url: string, headers: Record<string, string> = AUTH, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), { ...options, headers })
  const messages: WsMessage[] = []
  ws.on('message', (data, binary) => messages.push({ binary, data: data as Buffer }))
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  })
  const opened = await new Promise<number>((resolve, reject) => {
    ws.once('open', () => resolve(101))
    ws.once('unexpected-response', (_req, res: IncomingMessage) => { res.resume(); resolve(res.statusCode ?? 0) })
    ws.once('error', reject)
  })
  const json = () => messages.filter((m) => !m.binary).map((m) => JSON.parse(m.data.toString()) as Record<string, unknown>)
  return { ws, status: opened, messages, closed, json }
}

/** Opens a streaming GET (SSE, stream.wav) and hands back the response as it arrives. */
export async function openStream (url: string, headers: Record<string, string> = AUTH) {
  const req = httpRequest(url, { headers })
  req.end()
  const [res] = await once(req, 'response') as [IncomingMessage]
  return { req, res }
}

/** Parses SSE text into events and comments. */
export class SseReader {
  buffer = ''
  readonly events: Array<{ id?: string, event?: string, data: Record<string, unknown> }> = []
  comments = 0
  #waiters: Array<() => void> = []

  constructor (res: IncomingMessage) {
    res.setEncoding('utf8')
    res.on('data', (text: string) => {
      this.buffer += text
      let at
      while ((at = this.buffer.indexOf('\n\n')) !== -1) {
        const block = this.buffer.slice(0, at)
        this.buffer = this.buffer.slice(at + 2)
        const fields: Record<string, string> = {}
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) { this.comments++; continue }
          const colon = line.indexOf(':')
          fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart()
        }
        if (fields.data !== undefined) {
          this.events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) as Record<string, unknown> })
        }
      }
      for (const wake of this.#waiters.splice(0)) wake()
    })
  }

  /** Resolves once `condition` holds, checked on every arrival. */
  async until (condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.#waiters.push(resolve))
  }
}
