import { CodecError } from '../codec/codec-error.js'
import { oggCrc32 } from './ogg-crc.js'

/**
 * Ogg page assembly (RFC 3533). Packets are laced into 255-byte segments; a page carries at most
 * 255 segments. A packet that does not fit is continued on the next page (flag 0x01 there).
 */

export const OGG_FLAG_CONTINUED = 0x01
export const OGG_FLAG_BOS = 0x02
export const OGG_FLAG_EOS = 0x04

const HEADER_BYTES = 27
const MAX_SEGMENTS = 255

/** Granule value for a page on which no packet ends. */
export const OGG_NO_GRANULE = -1n

export interface OggPageSpec {
  /** Combination of OGG_FLAG_* values. */
  readonly flags: number
  /** 64-bit granule position; OGG_NO_GRANULE (-1) when no packet finishes on this page. */
  readonly granulePosition: bigint
  readonly serialNumber: number
  readonly sequenceNumber: number
  /** Lacing values (0..255 each, at most 255 of them). */
  readonly segments: readonly number[]
  /** Concatenated packet data for those segments. */
  readonly body: readonly Uint8Array[]
}

/** Serialises one page, CRC included. */
export function buildOggPage(spec: OggPageSpec): Buffer {
  if (spec.segments.length > MAX_SEGMENTS) {
    throw new CodecError('OGG_PAGE_OVERFLOW', 'an Ogg page holds at most 255 segments', { segments: spec.segments.length })
  }
  const bodyLength = spec.body.reduce((n, b) => n + b.length, 0)
  const page = Buffer.alloc(HEADER_BYTES + spec.segments.length + bodyLength)
  page.write('OggS', 0, 'latin1')
  page.writeUInt8(0, 4) // stream structure version
  page.writeUInt8(spec.flags, 5)
  page.writeBigInt64LE(spec.granulePosition, 6)
  page.writeUInt32LE(spec.serialNumber >>> 0, 14)
  page.writeUInt32LE(spec.sequenceNumber >>> 0, 18)
  page.writeUInt32LE(0, 22) // CRC placeholder
  page.writeUInt8(spec.segments.length, 26)
  let at = HEADER_BYTES
  for (const lacing of spec.segments) page[at++] = lacing
  for (const part of spec.body) {
    page.set(part, at)
    at += part.length
  }
  page.writeUInt32LE(oggCrc32(page), 22)
  return page
}

/** Lacing values for one whole packet: 255s then a final value < 255 (0 if length % 255 == 0). */
export function lacingFor(packetLength: number): number[] {
  const lacing = new Array<number>(Math.floor(packetLength / 255)).fill(255)
  lacing.push(packetLength % 255)
  return lacing
}

export interface PacketWithGranule {
  readonly data: Uint8Array
  /** Granule position at the end of this packet. */
  readonly granulePosition: bigint
}

export interface PaginateOptions {
  readonly serialNumber: number
  /** Sequence number of the first page produced. */
  readonly firstSequence: number
  /** Flags added to the first page (e.g. OGG_FLAG_BOS). */
  readonly firstPageFlags?: number
  /** Adds OGG_FLAG_EOS to the last page. */
  readonly endOfStream?: boolean
  /** Close a page after this many completed packets even if segments remain (default: no cap). */
  readonly maxPacketsPerPage?: number
}

/**
 * Lays packets out on as few pages as the lacing limit allows (or maxPacketsPerPage), with
 * the granule of the last packet completed on each page. Returns the serialised pages.
 */
export function paginate(packets: readonly PacketWithGranule[], options: PaginateOptions): Buffer[] {
  const pages: Buffer[] = []
  const maxPackets = options.maxPacketsPerPage ?? Number.POSITIVE_INFINITY
  let sequence = options.firstSequence
  let segments: number[] = []
  let body: Uint8Array[] = []
  let granule = OGG_NO_GRANULE
  let packetsOnPage = 0
  let pageContinued = false // the page being built starts with the rest of an earlier packet

  const flush = (last: boolean): void => {
    let flags = pageContinued ? OGG_FLAG_CONTINUED : 0
    if (pages.length === 0) flags |= options.firstPageFlags ?? 0
    if (last && options.endOfStream === true) flags |= OGG_FLAG_EOS
    pages.push(buildOggPage({ flags, granulePosition: granule, serialNumber: options.serialNumber, sequenceNumber: sequence++, segments, body }))
    segments = []
    body = []
    granule = OGG_NO_GRANULE
    packetsOnPage = 0
    pageContinued = false
  }

  packets.forEach((packet, index) => {
    const lacing = lacingFor(packet.data.length)
    let used = 0 // lacing values of this packet already placed
    let offset = 0 // bytes of this packet already placed
    while (used < lacing.length) {
      if (segments.length === MAX_SEGMENTS) {
        // Page full in the middle of a packet: the next page continues it.
        flush(false)
        pageContinued = true
      }
      const take = Math.min(lacing.length - used, MAX_SEGMENTS - segments.length)
      const slice = lacing.slice(used, used + take)
      const bytes = slice.reduce((n, v) => n + v, 0)
      segments.push(...slice)
      body.push(packet.data.subarray(offset, offset + bytes))
      used += take
      offset += bytes
    }
    granule = packet.granulePosition
    packetsOnPage++
    const isLast = index === packets.length - 1
    if (isLast || packetsOnPage >= maxPackets || segments.length === MAX_SEGMENTS) flush(isLast)
  })
  if (packets.length === 0 && options.endOfStream === true) flush(true)
  return pages
}
