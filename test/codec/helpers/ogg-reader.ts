import { oggCrc32 } from '../../../src/ogg/ogg-crc.js'

/** Minimal independent Ogg page reader for tests: checks capture pattern and CRC. */
export interface ParsedPage {
  flags: number
  granulePosition: bigint
  serialNumber: number
  sequenceNumber: number
  segments: number[]
  body: Buffer
  crcOk: boolean
}

export function parseOggPages(data: Buffer): ParsedPage[] {
  const pages: ParsedPage[] = []
  let at = 0
  while (at < data.length) {
    if (data.toString('latin1', at, at + 4) !== 'OggS') throw new Error(`no capture pattern at ${at}`)
    const count = data.readUInt8(at + 26)
    const segments = [...data.subarray(at + 27, at + 27 + count)]
    const bodyLength = segments.reduce((n, v) => n + v, 0)
    const total = 27 + count + bodyLength
    const raw = Buffer.from(data.subarray(at, at + total))
    const crc = raw.readUInt32LE(22)
    raw.writeUInt32LE(0, 22)
    pages.push({
      flags: data.readUInt8(at + 5),
      granulePosition: data.readBigInt64LE(at + 6),
      serialNumber: data.readUInt32LE(at + 14),
      sequenceNumber: data.readUInt32LE(at + 18),
      segments,
      body: data.subarray(at + 27 + count, at + total),
      crcOk: oggCrc32(raw) === crc,
    })
    at += total
  }
  return pages
}

/** Reassembles packets from pages (handles continuation across pages). */
export function packetsOf(pages: readonly ParsedPage[]): Buffer[] {
  const packets: Buffer[] = []
  let partial: Buffer[] = []
  for (const page of pages) {
    let offset = 0
    for (const lacing of page.segments) {
      partial.push(page.body.subarray(offset, offset + lacing))
      offset += lacing
      if (lacing < 255) {
        packets.push(Buffer.concat(partial))
        partial = []
      }
    }
  }
  return packets
}
