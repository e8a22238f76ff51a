/**
 * CRC-32 as used by Ogg (RFC 3533 section 6): polynomial 0x04c11db7, initial value 0,
 * no bit reflection, no final XOR. Computed over the whole page with the CRC field zeroed.
 */
const TABLE = (() => {
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let r = i << 24
    for (let bit = 0; bit < 8; bit++) {
      r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1
    }
    table[i] = r >>> 0
  }
  return table
})()

/** Continues `crc` over `data` (pass 0 to start). Returns an unsigned 32-bit value. */
export function oggCrc32(data: Uint8Array, crc = 0): number {
  let c = crc >>> 0
  for (let i = 0; i < data.length; i++) {
    c = ((c << 8) ^ (TABLE[((c >>> 24) ^ (data[i] as number)) & 0xff] as number)) >>> 0
  }
  return c
}
