import { CodecError } from './codec-error.js'

/**
 * Binary framing for "the Opus packets of one chunk", used as a WebSocket binary message body and,
 * base64-encoded, as a string field in REST JSON answers.
 *
 * Layout (all integers unsigned little-endian):
 *
 *   offset        size       field
 *   0             2          N = packet count (0..65535)
 *   2             2*N        len[0..N-1] = byte length of each packet (0..65535)
 *   2 + 2*N       sum(len)   packet bytes, concatenated in order
 *
 * Total size is exactly 2 + 2*N + sum(len); decoders reject anything else (truncated frames and
 * trailing bytes alike). A 0.5 s chunk at 128 kbit/s is 25 packets of ~320 bytes: ~8.1 KB framed,
 * 52 bytes of which are framing.
 *
 * Each packet is one 20 ms Opus frame at 48 kHz, so packet i of a message covers granule
 * [startGranule + 960*i, startGranule + 960*(i+1)); the chunk's sequenceNumber, startGranule and
 * channel count travel beside this payload in the message envelope, not inside it.
 *
 * Example: packets [0xAA], [0xBB 0xCC] -> 02 00 | 01 00 02 00 | AA BB CC
 */

export const MAX_PACKETS_PER_FRAME = 0xffff
export const MAX_PACKET_BYTES = 0xffff

/** Packs packets into one framed buffer. */
export function encodePacketFrame(packets: readonly Uint8Array[]): Buffer {
  if (packets.length > MAX_PACKETS_PER_FRAME) {
    throw new CodecError('INVALID_PACKET_FRAMING', 'too many packets for one frame', { count: packets.length })
  }
  let payload = 0
  for (const p of packets) {
    if (p.length > MAX_PACKET_BYTES) {
      throw new CodecError('INVALID_PACKET_FRAMING', 'packet longer than 65535 bytes', { length: p.length })
    }
    payload += p.length
  }
  const headerBytes = 2 + 2 * packets.length
  const out = Buffer.allocUnsafe(headerBytes + payload)
  out.writeUInt16LE(packets.length, 0)
  let at = headerBytes
  packets.forEach((p, i) => {
    out.writeUInt16LE(p.length, 2 + 2 * i)
    out.set(p, at)
    at += p.length
  })
  return out
}

/**
 * Splits a framed buffer back into packets. The returned arrays are views into `frame`
 * (no copy); copy them if `frame` will be reused.
 */
export function decodePacketFrame(frame: Uint8Array): Uint8Array[] {
  const fail = (message: string, details: Record<string, unknown>): never => {
    throw new CodecError('INVALID_PACKET_FRAMING', message, details)
  }
  if (frame.length < 2) fail('frame shorter than its 2-byte header', { length: frame.length })
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const count = view.getUint16(0, true)
  const headerBytes = 2 + 2 * count
  if (frame.length < headerBytes) fail('frame truncated inside the length table', { length: frame.length, count })
  let expected = headerBytes
  for (let i = 0; i < count; i++) expected += view.getUint16(2 + 2 * i, true)
  if (frame.length !== expected) fail('frame length does not match its length table', { length: frame.length, expected })

  const packets: Uint8Array[] = []
  let at = headerBytes
  for (let i = 0; i < count; i++) {
    const len = view.getUint16(2 + 2 * i, true)
    packets.push(frame.subarray(at, at + len))
    at += len
  }
  return packets
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** encodePacketFrame + standard base64 (RFC 4648 section 4, with padding), for JSON bodies. */
export function encodePacketFrameBase64(packets: readonly Uint8Array[]): string {
  return encodePacketFrame(packets).toString('base64')
}

/** Strict inverse of encodePacketFrameBase64: rejects non-canonical base64 instead of skipping it. */
export function decodePacketFrameBase64(text: string): Uint8Array[] {
  if (!BASE64.test(text)) {
    throw new CodecError('INVALID_PACKET_FRAMING', 'not valid padded base64', { length: text.length })
  }
  return decodePacketFrame(Buffer.from(text, 'base64'))
}
