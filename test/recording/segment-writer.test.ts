import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSegmentFile, SegmentWriter, type SegmentFile, type SegmentWriterOptions, type WriteFailure } from '../../src/recording/segment-writer.js'

/** A file in memory whose appends can be made to fail, short or hang. */
class FakeFile implements SegmentFile {
  bytes = Buffer.alloc(0)
  syncs = 0
  closed = false
  /** Bytes the disk takes before it is full. */
  room = Number.POSITIVE_INFINITY
  error: NodeJS.ErrnoException | undefined
  held: Array<() => void> | undefined

  async append (data: Buffer): Promise<number> {
    if (this.held !== undefined) await new Promise<void>((resolve) => this.held!.push(resolve))
    if (this.error !== undefined) throw this.error
    const n = Math.min(data.length, this.room - this.bytes.length)
    this.bytes = Buffer.concat([this.bytes, data.subarray(0, n)])
    return n
  }

  async sync (): Promise<void> { this.syncs++ }
  async truncate (length: number): Promise<void> { this.bytes = this.bytes.subarray(0, length) }
  async close (): Promise<void> { this.closed = true }
}

function writer (file: SegmentFile, over: Partial<SegmentWriterOptions> = {}) {
  const failures: WriteFailure[] = []
  const w = new SegmentWriter(file, { maxQueuedBytes: 1000, reserve: () => true, failed: (reason) => failures.push(reason), ...over })
  return { w, failures }
}

const page = (n: number, size = 100) => Buffer.alloc(size, n)

t.test('pages go to the file in order, one write at a time; sync only when something was written; finish closes', async (t) => {
  const file = new FakeFile()
  const { w, failures } = writer(file)
  for (let i = 0; i < 5; i++) t.equal(w.append(page(i)), true)
  await w.sync()
  t.same(file.bytes, Buffer.concat([0, 1, 2, 3, 4].map((i) => page(i))))
  t.equal(w.written, 500)
  t.equal(file.syncs, 1)
  await w.sync()
  t.equal(file.syncs, 1, 'nothing new: no fsync')
  await w.finish(page(9, 10))
  t.equal(file.bytes.length, 510, 'the last page is written before the file closes')
  t.equal(file.syncs, 2)
  t.equal(file.closed, true)
  t.equal(w.append(page(1)), false, 'a finished writer takes nothing')
  t.same(failures, [])
})

t.test('a full disk (ENOSPC) stops the writer once, without throwing; the file keeps whole pages only', async (t) => {
  const short = new FakeFile()
  short.room = 250
  const a = writer(short)
  a.w.append(page(1))
  await a.w.sync()
  a.w.append(page(2))
  a.w.append(page(3))
  await a.w.sync()
  t.same(a.failures, ['disk-full'], 'a short write is a full disk')
  t.equal(short.bytes.length, 100, 'the half-written pages were cut off: the file ends on a page boundary')
  t.equal(a.w.failure, 'disk-full')
  t.equal(a.w.append(page(4)), false)
  await a.w.finish()
  t.equal(short.closed, true)

  const failing = new FakeFile()
  failing.error = Object.assign(new Error('no space'), { code: 'ENOSPC' })
  const b = writer(failing)
  b.w.append(page(1))
  await b.w.sync()
  t.same(b.failures, ['disk-full'])

  const broken = new FakeFile()
  broken.error = Object.assign(new Error('i/o'), { code: 'EIO' })
  const c = writer(broken)
  c.w.append(page(1))
  await c.w.sync()
  t.same(c.failures, ['write-error'], 'any other error is a write error')
})

t.test('a disk that does not keep up: past maxQueuedBytes the writer stops instead of growing', async (t) => {
  const file = new FakeFile()
  file.held = []
  const { w, failures } = writer(file, { maxQueuedBytes: 300 })
  t.equal(w.append(page(1)), true, 'in flight')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(w.append(page(2)), true)
  t.equal(w.append(page(3)), true)
  t.equal(w.append(page(4)), true, '300 bytes queued')
  t.equal(w.append(page(5)), false, 'the fourth queued page is one too many')
  t.same(failures, ['too-slow'])
  for (const release of file.held.splice(0)) release()
  file.held = undefined
  await w.finish()
  t.same(file.bytes, page(1), 'what was in flight is written; the queue is dropped')
})

t.test('no room under the size cap: the writer stops (size-cap) before writing', async (t) => {
  const file = new FakeFile()
  let room = 150
  const { w, failures } = writer(file, { reserve: (n) => { room -= n; return room >= 0 } })
  w.append(page(1))
  await w.sync()
  w.append(page(2))
  await w.sync()
  t.same(failures, ['size-cap'])
  t.equal(file.bytes.length, 100)
})

t.test('the real file: created new (never one that exists), appended, synced and closed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'segment-writer-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'a.ogg')
  const { w } = writer(await openSegmentFile(path))
  w.append(page(7))
  await w.finish(page(8, 3))
  t.same(readFileSync(path), Buffer.concat([page(7), page(8, 3)]))
  await t.rejects(openSegmentFile(path), { code: 'EEXIST' })
})
