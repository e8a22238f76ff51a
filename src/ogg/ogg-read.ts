import { oggCrc32 } from './ogg-crc.js'

/**
 * Reading Ogg pages (RFC 3533) back: finding whole, intact pages in bytes read from a file, and rewriting a
 * page's header fields (serial, sequence, granule, flags) with a fresh CRC. The writer is ogg-page.ts.
 */

const HEADER_BYTES = 27
const ZERO_CRC = new Uint8Array(4)
/** The largest page there can be: a 27-byte header, 255 lacing values of 255 bytes each. */
export const MAX_PAGE_BYTES = HEADER_BYTES + 255 + 255 * 255

export interface PageInfo {
  /** Where the page starts in the buffer it was read from. */
  readonly offset: number
  /** Its whole length, header included. */
  readonly length: number
  readonly flags: number
  readonly granulePosition: bigint
  readonly serialNumber: number
  readonly sequenceNumber: number
  /** Where its body starts (after the lacing values), relative to `offset`. */
  readonly bodyOffset: number
  /** The last lacing value (< 255: the page ends a packet). */
  readonly lastLacing: number
}

/**
 * The page that starts at `at`: its header when it is whole in `buf` and its CRC holds; 'short' when `buf`
 * ends before it does (more bytes are needed to tell); undefined when no valid page starts there.
 */
export function readPageAt (buf: Uint8Array, at: number): PageInfo | 'short' | undefined {
  if (at + HEADER_BYTES > buf.length) return isCapture(buf, at) ? 'short' : undefined
  if (!isCapture(buf, at) || buf[at + 4] !== 0) return undefined
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const count = buf[at + 26]!
  if (at + HEADER_BYTES + count > buf.length) return 'short'
  let body = 0
  for (let i = 0; i < count; i++) body += buf[at + HEADER_BYTES + i]!
  const length = HEADER_BYTES + count + body
  if (at + length > buf.length) return 'short'
  let crc = oggCrc32(buf.subarray(at, at + 22))
  crc = oggCrc32(ZERO_CRC, crc)
  crc = oggCrc32(buf.subarray(at + 26, at + length), crc)
  if (crc !== view.getUint32(at + 22, true)) return undefined
  return {
    offset: at,
    length,
    flags: buf[at + 5]!,
    granulePosition: view.getBigInt64(at + 6, true),
    serialNumber: view.getUint32(at + 14, true),
    sequenceNumber: view.getUint32(at + 18, true),
    bodyOffset: HEADER_BYTES + count,
    lastLacing: count === 0 ? 0 : buf[at + HEADER_BYTES + count - 1]!
  }
}

/** Whether "OggS" starts at `at` (as far as `buf` goes). */
function isCapture (buf: Uint8Array, at: number): boolean {
  const capture = [0x4f, 0x67, 0x67, 0x53]
  for (let i = 0; i < 4; i++) {
    if (at + i >= buf.length) return true
    if (buf[at + i] !== capture[i]) return false
  }
  return true
}

/**
 * The last whole, intact page in `buf` (searching back from its end), optionally of one serial number;
 * undefined when there is none. Bytes after it (a page cut off mid-write) are not part of it.
 */
export function lastPageIn (buf: Uint8Array, serialNumber?: number): PageInfo | undefined {
  for (let at = buf.length - HEADER_BYTES; at >= 0; at--) {
    if (buf[at] !== 0x4f) continue
    const page = readPageAt(buf, at)
    if (typeof page === 'object' && (serialNumber === undefined || page.serialNumber === serialNumber)) return page
  }
  return undefined
}

export interface PageChanges {
  readonly serialNumber?: number
  readonly sequenceNumber?: number
  readonly granulePosition?: bigint
  readonly flags?: number
}

/** A copy of the page with some header fields changed and its CRC computed again. */
export function rewritePage (page: Uint8Array, changes: PageChanges): Buffer {
  const out = Buffer.from(page)
  if (changes.flags !== undefined) out.writeUInt8(changes.flags, 5)
  if (changes.granulePosition !== undefined) out.writeBigInt64LE(changes.granulePosition, 6)
  if (changes.serialNumber !== undefined) out.writeUInt32LE(changes.serialNumber >>> 0, 14)
  if (changes.sequenceNumber !== undefined) out.writeUInt32LE(changes.sequenceNumber >>> 0, 18)
  out.writeUInt32LE(0, 22)
  out.writeUInt32LE(oggCrc32(out), 22)
  return out
}
