import { connect } from 'node:net'

/** What a client that writes its whole request before reading got back. */
export interface WholeWriteResult {
  /** The write failed (EPIPE, ECONNRESET): the desktop client's HttpClient throws here. */
  writeError: string | undefined
  /** Reading failed after the request was written. */
  readError: string | undefined
  status: number | undefined
  headers: Record<string, string>
  body: string
  /** The body is exactly as long as its Content-Length says. */
  complete: boolean
}

/**
 * Sends `head` and then the whole `body` on a fresh connection, and only once all of it is written (as
 * .NET's HttpClient does with a content it was given) reads the answer until the server closes. A body
 * given as chunks goes out with Transfer-Encoding: chunked (the head must say so).
 */
export function writeWholeThenRead (port: number, head: string, body: Buffer | Buffer[]): Promise<WholeWriteResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let writeError: string | undefined
    let readError: string | undefined
    let writing = true
    const received: Buffer[] = []
    socket.pause()
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (writing) writeError = err.code ?? err.message
      else readError = err.code ?? err.message
    })
    socket.on('connect', () => {
      socket.write(head)
      const pieces = Array.isArray(body) ? [...body.map((c) => Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')])), Buffer.from('0\r\n\r\n')] : [body]
      pieces.forEach((piece, i) => socket.write(piece, i < pieces.length - 1 ? undefined : (err) => {
        if (err) writeError ??= (err as NodeJS.ErrnoException).code ?? err.message
        writing = false
        socket.on('data', (d: Buffer) => received.push(d))
        socket.resume()
      }))
    })
    socket.on('close', () => resolve({ writeError, readError, ...parseResponse(Buffer.concat(received).toString('utf8')) }))
  })
}

function parseResponse (text: string): Pick<WholeWriteResult, 'status' | 'headers' | 'body' | 'complete'> {
  const split = text.indexOf('\r\n\r\n')
  if (split < 0) return { status: undefined, headers: {}, body: '', complete: false }
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n')
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  const body = text.slice(split + 4)
  return { status: Number(statusLine!.split(' ')[1]), headers, body, complete: Buffer.byteLength(body) === Number(headers['content-length']) }
}
