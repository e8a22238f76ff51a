import { open, type FileHandle } from 'node:fs/promises'
import { OGG_FLAG_BOS, OGG_FLAG_EOS } from '../ogg/ogg-page.js'
import { lastPageIn, MAX_PAGE_BYTES, readPageAt, rewritePage, type PageInfo } from '../ogg/ogg-read.js'
import { OPUS_SAMPLE_RATE } from '../codec/opus-format.js'

/**
 * Reading a recording back as one Ogg/Opus file. A recording is one segment per instance that recorded the
 * session (a takeover or a restart starts a new one), each a complete Ogg/Opus stream of its own with its own
 * serial number, headers and granules from zero. The download joins them into ONE logical stream, so every
 * player sees one file of the whole length: the first segment as it is; each later one without its header
 * pages, its pages renumbered to follow on, its granules shifted by what came before, its serial number the
 * first one's. Only page headers change (same length), so the joined file's byte offsets map straight onto
 * the segment files and any byte range is served without reading what comes before it. A segment cut off
 * by a crash counts up to its last whole, intact page.
 */

/** What the join needs to know of one segment file. */
export interface SegmentLayout {
  readonly path: string
  /** Bytes up to the end of its last whole page. */
  readonly size: number
  /** Bytes and pages of its two header pages (OpusHead, OpusTags). */
  readonly headerBytes: number
  readonly headerPages: number
  readonly serialNumber: number
  readonly channels: number
  /** OpusHead pre-skip, 48 kHz samples. */
  readonly preSkip: number
  /** Granule position of its last page: 48 kHz samples of audio in it, pre-skip included. */
  readonly endGranule: bigint
  /** Pages in it (its last page's sequence number + 1). */
  readonly pages: number
  /** Where its last page starts, and whether that page ends the stream (EOS). */
  readonly lastPageOffset: number
  readonly endsStream: boolean
}

const BLOCK_BYTES = 256 * 1024

async function readAt (file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(Math.max(0, length))
  const { bytesRead } = await file.read(buf, 0, buf.length, position)
  return buf.subarray(0, bytesRead)
}

/**
 * The layout of a segment file, read from its first and last pages; undefined when it holds no audio page
 * yet (a segment just opened, or one that is not Ogg/Opus).
 */
export async function inspectSegment (path: string): Promise<SegmentLayout | undefined> {
  const file = await open(path, 'r').catch(() => undefined)
  if (file === undefined) return undefined
  try {
    const { size } = await file.stat()
    const head = await readAt(file, 0, Math.min(size, 2 * MAX_PAGE_BYTES))
    const first = readPageAt(head, 0)
    if (typeof first !== 'object' || (first.flags & OGG_FLAG_BOS) === 0) return undefined
    const opusHead = head.subarray(first.bodyOffset, first.length)
    if (opusHead.toString('latin1', 0, 8) !== 'OpusHead' || opusHead.length < 19) return undefined
    // The header pages end where the OpusTags packet does (a lacing value under 255).
    let headerBytes = first.length
    let headerPages = 1
    for (;;) {
      const page = readPageAt(head, headerBytes)
      if (typeof page !== 'object' || page.serialNumber !== first.serialNumber) return undefined
      headerBytes += page.length
      headerPages++
      if (page.lastLacing < 255) break
    }
    const tailStart = Math.max(headerBytes, size - 2 * MAX_PAGE_BYTES)
    const tail = await readAt(file, tailStart, size - tailStart)
    const last = lastPageIn(tail, first.serialNumber)
    // The granule is the last one a page gives: an end-of-stream page may carry no packet (granule -1).
    let timed: PageInfo | undefined = last
    while (timed !== undefined && timed.granulePosition < 0n) timed = lastPageIn(tail.subarray(0, timed.offset), first.serialNumber)
    if (last === undefined || timed === undefined) return undefined
    return {
      path,
      size: tailStart + last.offset + last.length,
      headerBytes,
      headerPages,
      serialNumber: first.serialNumber,
      channels: opusHead[9]!,
      preSkip: opusHead.readUInt16LE(10),
      endGranule: timed.granulePosition,
      pages: last.sequenceNumber + 1,
      lastPageOffset: tailStart + last.offset,
      endsStream: (last.flags & OGG_FLAG_EOS) !== 0
    }
  } finally {
    await file.close()
  }
}

/** One segment's bytes in the joined file: [from, to) of its file, served from `virtualStart` on. */
interface Piece {
  readonly layout: SegmentLayout
  readonly from: number
  readonly to: number
  readonly virtualStart: number
  /** Bytes before this (file offset) are served as they are; pages from here on are rewritten. */
  readonly rewriteFrom: number
  readonly rewrite: (page: Buffer, info: PageInfo) => Buffer
  /** Granules of earlier segments: this segment's granule 0 is this far into the joined stream. */
  readonly granuleOffset: bigint
}

export interface JoinedRecording {
  /** Bytes of the joined file. */
  readonly size: number
  /** Seconds of audio in it. */
  readonly seconds: number
  /** The bytes [start, end] (inclusive) of the joined file, in blocks. */
  read (start: number, end: number): AsyncGenerator<Buffer>
  /** Where a segment's own granule position lands in the joined file, in seconds. */
  secondsAt (segment: number, granule: number): number
}

/** Joins segments (in recording order, those holding audio) into one logical Ogg/Opus stream. */
export function joinSegments (layouts: readonly SegmentLayout[]): JoinedRecording {
  const first = layouts[0]
  const pieces: Piece[] = []
  let virtual = 0
  let sequence = 0
  let granule = 0n
  layouts.forEach((layout, i) => {
    const last = i === layouts.length - 1
    const granuleOffset = granule
    const from = i === 0 ? 0 : layout.headerBytes
    let rewriteFrom: number
    let rewrite: Piece['rewrite']
    if (i === 0) {
      // The first segment is served as it is, but for an end-of-stream page that more segments follow.
      rewriteFrom = layout.endsStream && !last ? layout.lastPageOffset : layout.size
      rewrite = (page, info) => rewritePage(page, { flags: info.flags & ~OGG_FLAG_EOS })
    } else {
      const firstSequence = sequence - layout.headerPages
      rewriteFrom = from
      rewrite = (page, info) => rewritePage(page, {
        serialNumber: first!.serialNumber,
        sequenceNumber: info.sequenceNumber + firstSequence,
        granulePosition: info.granulePosition < 0n ? info.granulePosition : info.granulePosition + granuleOffset,
        flags: info.flags & ~OGG_FLAG_BOS & (last ? 0xff : ~OGG_FLAG_EOS)
      })
    }
    pieces.push({ layout, from, to: layout.size, virtualStart: virtual, rewriteFrom, rewrite, granuleOffset })
    virtual += layout.size - from
    sequence += layout.pages - (i === 0 ? 0 : layout.headerPages)
    granule += layout.endGranule
  })
  const preSkip = BigInt(first?.preSkip ?? 0)
  const toSeconds = (g: bigint) => Math.max(0, Number(g - preSkip) / OPUS_SAMPLE_RATE)
  return {
    size: virtual,
    seconds: toSeconds(granule),
    secondsAt: (segment, g) => toSeconds((pieces[segment]?.granuleOffset ?? 0n) + BigInt(g)),
    async * read (start, end) {
      for (const piece of pieces) {
        const pieceEnd = piece.virtualStart + (piece.to - piece.from)
        if (end < piece.virtualStart || start >= pieceEnd) continue
        const localStart = piece.from + Math.max(0, start - piece.virtualStart)
        const localEnd = piece.from + Math.min(pieceEnd, end + 1) - piece.virtualStart
        yield * readPiece(piece, localStart, localEnd)
      }
    }
  }
}

/** The bytes [start, end) of a piece's file, its rewritten pages rewritten. */
async function * readPiece (piece: Piece, start: number, end: number): AsyncGenerator<Buffer> {
  const file = await open(piece.layout.path, 'r')
  try {
    // As it is, up to where rewriting starts.
    for (let at = start; at < Math.min(end, piece.rewriteFrom); at += BLOCK_BYTES) {
      yield await readAt(file, at, Math.min(BLOCK_BYTES, Math.min(end, piece.rewriteFrom) - at))
    }
    if (end <= piece.rewriteFrom) return
    // Page by page from the page that holds the first byte wanted.
    let at = start <= piece.rewriteFrom ? piece.rewriteFrom : await pageStartAtOrBefore(file, start, piece.rewriteFrom)
    let buffered = Buffer.alloc(0)
    let bufferedAt = at
    while (at < end) {
      let page = readPageAt(buffered, at - bufferedAt)
      if (typeof page !== 'object') {
        const more = await readAt(file, bufferedAt + buffered.length, Math.min(BLOCK_BYTES, piece.to - bufferedAt - buffered.length))
        if (more.length === 0) throw new Error(`${piece.layout.path}: no whole page at ${at}`)
        buffered = Buffer.concat([buffered.subarray(at - bufferedAt), more])
        bufferedAt = at
        page = readPageAt(buffered, 0)
        if (page === 'short') continue
        if (page === undefined) throw new Error(`${piece.layout.path}: no valid page at ${at}`)
      }
      const bytes = piece.rewrite(buffered.subarray(page.offset, page.offset + page.length), page)
      const from = Math.max(start, at) - at
      const to = Math.min(end, at + page.length) - at
      yield bytes.subarray(from, to)
      at += page.length
    }
  } finally {
    await file.close()
  }
}

/** Where the page holding byte `offset` starts: the last valid page start at or before it (not before `floor`). */
async function pageStartAtOrBefore (file: FileHandle, offset: number, floor: number): Promise<number> {
  const from = Math.max(floor, offset - MAX_PAGE_BYTES)
  const window = await readAt(file, from, offset - from + MAX_PAGE_BYTES)
  for (let at = offset - from; at >= 0; at--) {
    if (window[at] !== 0x4f) continue
    const page = readPageAt(window, at)
    if (typeof page === 'object' && from + at + page.length > offset) return from + at
  }
  throw new Error(`no page holds byte ${offset}`)
}
