import { open } from 'node:fs/promises'

/** An open file a segment is appended to; the seam where tests put a failing disk. */
export interface SegmentFile {
  /** Appends `data`; answers how many bytes were written (fewer on a full disk). */
  append (data: Buffer): Promise<number>
  sync (): Promise<void>
  truncate (length: number): Promise<void>
  close (): Promise<void>
}

/** Creates a new, empty file (never one that exists) to append to. */
export type OpenSegmentFile = (path: string) => Promise<SegmentFile>

export const openSegmentFile: OpenSegmentFile = async (path) => {
  const handle = await open(path, 'wx')
  return {
    append: async (data) => (await handle.write(data)).bytesWritten,
    sync: () => handle.sync(),
    truncate: (length) => handle.truncate(length),
    close: () => handle.close()
  }
}

/** Why a writer stopped taking pages. */
export type WriteFailure =
  /** ENOSPC or EDQUOT: the disk (or quota) is full. */
  | 'disk-full'
  /** Any other error of the file system. */
  | 'write-error'
  /** More was queued than `maxQueuedBytes`: the disk does not keep up. */
  | 'too-slow'
  /** RECORDINGS_MAX_GB is reached and nothing finished is left to delete. */
  | 'size-cap'

export interface SegmentWriterOptions {
  /** Bytes waiting for the disk at most; past it the writer stops rather than grow. */
  readonly maxQueuedBytes: number
  /** Asks the disk budget for room for `bytes` more: true when there is (it may sweep first). */
  readonly reserve: (bytes: number) => boolean | Promise<boolean>
  /** Told once when the writer stops taking pages, with what went wrong. */
  readonly failed: (reason: WriteFailure, err?: unknown) => void
}

/**
 * Appends whole Ogg pages to a segment file without ever blocking the event loop: pages are queued in
 * memory (bounded) and written in order by one asynchronous write at a time. Each append holds whole
 * pages and a short write is cut back to the last whole page, so the file always ends on a page boundary
 * and plays up to its last page after a crash. A write error or a full queue stops the writer (it tells
 * `failed` once) and never throws: the live relay it records goes on.
 */
export class SegmentWriter {
  #queue: Buffer[] = []
  #queuedBytes = 0
  /** Bytes written, always at a page boundary. */
  #written = 0
  #synced = 0
  #failure: WriteFailure | undefined
  /** Every file operation runs after the one before it. */
  #ops: Promise<void> = Promise.resolve()
  #draining = false
  #closed = false

  constructor (readonly file: SegmentFile, readonly options: SegmentWriterOptions) {}

  get written (): number { return this.#written }
  get failure (): WriteFailure | undefined { return this.#failure }

  /** Queues whole pages; false when the writer has stopped (now or before). */
  append (pages: Buffer): boolean {
    if (this.#failure !== undefined || this.#closed) return false
    if (pages.length === 0) return true
    if (this.#queuedBytes + pages.length > this.options.maxQueuedBytes) {
      this.#fail('too-slow')
      return false
    }
    this.#queue.push(pages)
    this.#queuedBytes += pages.length
    if (!this.#draining) {
      this.#draining = true
      this.#then(() => this.#drain())
    }
    return true
  }

  /** Makes what was written durable (fsync), if anything was written since the last time. */
  sync (): Promise<void> {
    return this.#then(async () => {
      if (this.#written === this.#synced || this.#closed) return
      const upTo = this.#written
      await this.file.sync()
      this.#synced = upTo
    })
  }

  /** Writes `last` (the end-of-stream page) and what is queued, syncs and closes the file. Never throws. */
  async finish (last?: Buffer): Promise<void> {
    if (last !== undefined) this.append(last)
    await this.sync()
    await this.#then(async () => {
      if (this.#closed) return
      this.#closed = true
      await this.file.close()
    })
  }

  #then (op: () => Promise<void>): Promise<void> {
    this.#ops = this.#ops.then(op).catch((err: unknown) => this.#fail(failureOf(err), err))
    return this.#ops
  }

  async #drain (): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#failure === undefined) {
        const batch = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue)
        this.#queue = []
        this.#queuedBytes = 0
        if (!await this.options.reserve(batch.length)) return this.#fail('size-cap')
        let done = 0
        try {
          done = await this.file.append(batch)
        } catch (err) {
          await this.#cutBack()
          return this.#fail(failureOf(err), err)
        }
        if (done < batch.length) {
          // A short write: the disk filled up in the middle of a page.
          await this.#cutBack()
          return this.#fail('disk-full')
        }
        this.#written += done
      }
    } finally {
      this.#draining = false
    }
  }

  /** After a failed write: the file is cut back to its last whole page (best effort). */
  async #cutBack (): Promise<void> {
    await this.file.truncate(this.#written).catch(() => {})
  }

  #fail (reason: WriteFailure, err?: unknown): void {
    if (this.#failure !== undefined) return
    this.#failure = reason
    this.#queue = []
    this.#queuedBytes = 0
    this.options.failed(reason, err)
  }
}

function failureOf (err: unknown): WriteFailure {
  const code = (err as { code?: unknown } | undefined)?.code
  return code === 'ENOSPC' || code === 'EDQUOT' ? 'disk-full' : 'write-error'
}
