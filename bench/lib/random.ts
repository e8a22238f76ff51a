/**
 * A seeded generator of numbers in [0, 1) (mulberry32), for data that must be the same every run.
 * 32-bit integer steps (Math.imul): a double-precision LCG overflows 2^53 and falls into a short cycle.
 */
export function seededRandom (seed: number): () => number {
  let s = seed | 0
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let x = Math.imul(s ^ (s >>> 15), 1 | s)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}
