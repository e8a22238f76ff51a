import t from 'tap'
import { DomainError } from '../../src/errors.js'
import { HTTP_STATUS } from '../../plugins/error-handler.js'
import { decodeFloat32Base64, encodeFloat32Base64 } from '../../src/session/pcm-codec.js'
import { CLIENT_FRAMES, MAX_AUDIO_BYTES, MONO_48K, STEREO_44K, arr, sine, type TapTest } from '../fixtures/audio.js'

const MONO = { sampleRate: 44100, channels: 1 }

/** Asserts that `fn` throws a DomainError with this code, which the error handler answers with this HTTP status. */
function throwsCode (t: TapTest, fn: () => unknown, code: string, status: number, message?: string): void {
  try {
    fn()
    t.fail(`expected ${code}, nothing was thrown${message === undefined ? '' : ` (${message})`}`)
  } catch (err) {
    t.ok(err instanceof DomainError, 'a DomainError')
    t.match(err, { code }, message ?? code)
    t.equal(HTTP_STATUS[(err as DomainError).code], status, `${code} answers HTTP ${status}`)
  }
}

function bytesToBase64 (bytes: number[]): string {
  return Buffer.from(bytes).toString('base64')
}

t.test('round trip: the client\'s 0.5 s stereo chunk decodes to exactly the samples encoded', async (t) => {
  const samples = sine(CLIENT_FRAMES, STEREO_44K)
  const data = encodeFloat32Base64(samples)
  t.equal(data.length, 176400 / 3 * 4, 'base64 of 176400 bytes')
  const out = decodeFloat32Base64(data, STEREO_44K, MAX_AUDIO_BYTES)
  t.equal(out.byteLength, 176400)
  t.equal(out.samples.length, 44100)
  t.ok(out.samples.every((v, i) => Object.is(v, samples[i])), 'every sample identical')
  t.equal(encodeFloat32Base64(out.samples), data, 'and re-encode to the very same text')
})

t.test('round trip keeps exact bit patterns of edge values', async (t) => {
  const edge = new Float32Array([0, -0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -1.1754943508222875e-38, 0.1, 1e-7])
  const out = decodeFloat32Base64(encodeFloat32Base64(edge), MONO, 1024)
  t.same(arr(out.samples).map((v) => Object.is(v, -0) ? '-0' : v), arr(edge).map((v) => Object.is(v, -0) ? '-0' : v))
  t.ok(Object.is(out.samples[1], -0), 'negative zero survives')
})

t.test('encodeFloat32Base64 encodes a view, not its whole buffer', async (t) => {
  const whole = new Float32Array([1, 2, 3, 4])
  const view = whole.subarray(1, 3)
  t.equal(encodeFloat32Base64(view), encodeFloat32Base64(new Float32Array([2, 3])))
  t.equal(Buffer.from(encodeFloat32Base64(new Float32Array([1])), 'base64').toString('hex'), '0000803f', 'little-endian float32')
})

t.test('every padding case and many buffer alignments decode correctly', async (t) => {
  let bad = 0
  for (let frames = 1; frames <= 64; frames++) {
    for (const fmt of [MONO, STEREO_44K, { sampleRate: 8000, channels: 3 }]) {
      const samples = sine(frames, fmt, frames)
      const data = encodeFloat32Base64(samples)
      const out = decodeFloat32Base64(data, fmt, MAX_AUDIO_BYTES)
      if (encodeFloat32Base64(out.samples) !== data || out.byteLength !== samples.byteLength || !out.samples.every((v, i) => v === samples[i])) bad++
      if (out.samples.byteOffset % 4 !== 0) bad++
    }
  }
  t.equal(bad, 0, '64 sizes x 3 channel counts (no padding, "=" and "==") all round-trip')
  t.ok(encodeFloat32Base64(new Float32Array(1)).endsWith('=='), 'the padded cases were covered: "=="')
  t.ok(encodeFloat32Base64(new Float32Array(2)).endsWith('=') && !encodeFloat32Base64(new Float32Array(2)).endsWith('=='), '"="')
})

t.test('rejects empty data', async (t) => {
  throwsCode(t, () => decodeFloat32Base64('', STEREO_44K, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400)
})

t.test('rejects a length that is not a multiple of 4', async (t) => {
  const good = encodeFloat32Base64(sine(3, MONO))
  t.equal(good.length % 4, 0)
  for (const data of ['A', 'AA', 'AAA', 'AAAAA', good.slice(0, -1), good + 'A', 'AAAAPw', 'AAAAPw=']) {
    throwsCode(t, () => decodeFloat32Base64(data, MONO, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, JSON.stringify(data))
  }
})

t.test('rejects characters outside the base64 alphabet', async (t) => {
  const good = encodeFloat32Base64(new Float32Array([0.5, -0.25, 0.125])) // 12 bytes, 16 chars, no padding
  t.equal(good.length, 16)
  for (const ch of ['!', '*', ' ', '\n', '.', '"', 'é', '\u0000']) {
    const data = good.slice(0, 5) + ch + good.slice(6)
    throwsCode(t, () => decodeFloat32Base64(data, MONO, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, `with ${JSON.stringify(ch)}`)
  }
  throwsCode(t, () => decodeFloat32Base64('AA==AAAAAAAA', MONO, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, 'padding in the middle')
  throwsCode(t, () => decodeFloat32Base64('====', MONO, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, 'only padding')
  throwsCode(t, () => decodeFloat32Base64('A===', MONO, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, 'three padding characters')
})

t.test('only canonical standard base64 is accepted, so the text can be relayed as sent', async (t) => {
  // One float32 = 4 bytes = "xxxxxx==": the 6th character carries 4 unused bits, which must be zero.
  const canonical = encodeFloat32Base64(new Float32Array([0.5]))
  t.equal(canonical, 'AAAAPw==')
  t.equal(decodeFloat32Base64(canonical, MONO, 64).samples[0], 0.5)
  throwsCode(t, () => decodeFloat32Base64('AAAAPx==', MONO, 64), 'INVALID_AUDIO', 400, 'stray bits in the last character ("==")')
  const two = encodeFloat32Base64(new Float32Array([0.5, 0.25])) // 8 bytes: one "=", 2 unused bits
  t.match(two, /[^=]=$/)
  const last = two.at(-2)!
  const sloppy = two.slice(0, -2) + String.fromCharCode(last.charCodeAt(0) + 1) + '='
  throwsCode(t, () => decodeFloat32Base64(sloppy, MONO, 64), 'INVALID_AUDIO', 400, 'stray bits in the last character ("=")')

  const withPlusSlash = bytesToBase64([0xfb, 0xff, 0xbf, 0x3e, 0xfb, 0xff, 0xbf, 0x3e, 0xfb, 0xff, 0xbf, 0x3e])
  t.match(withPlusSlash, /\+/)
  t.match(withPlusSlash, /\//)
  t.equal(decodeFloat32Base64(withPlusSlash, MONO, 64).samples.length, 3, '"+" and "/" are fine')
  const urlSafe = withPlusSlash.replace(/\+/g, '-').replace(/\//g, '_')
  throwsCode(t, () => decodeFloat32Base64(urlSafe, MONO, 64), 'INVALID_AUDIO', 400, 'the URL-safe alphabet is refused')
  throwsCode(t, () => decodeFloat32Base64(withPlusSlash.slice(0, 4) + '-' + withPlusSlash.slice(5), MONO, 64), 'INVALID_AUDIO', 400, 'even one "-"')
})

t.test('rejects byte lengths that are not whole frames', async (t) => {
  const oneSample = encodeFloat32Base64(new Float32Array([0.1]))
  throwsCode(t, () => decodeFloat32Base64(oneSample, STEREO_44K, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, '1 sample is half a stereo frame')
  const threeSamples = encodeFloat32Base64(new Float32Array([0.1, 0.2, 0.3]))
  throwsCode(t, () => decodeFloat32Base64(threeSamples, STEREO_44K, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, '3 samples in stereo')
  const eight = encodeFloat32Base64(new Float32Array(8))
  throwsCode(t, () => decodeFloat32Base64(eight, { sampleRate: 48000, channels: 3 }, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, '8 samples, 3 channels')
  throwsCode(t, () => decodeFloat32Base64(bytesToBase64([1, 2, 3, 4, 5, 6]), MONO, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, '6 bytes: not whole float32s')
  throwsCode(t, () => decodeFloat32Base64(bytesToBase64([0, 0, 0]), MONO, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, '3 bytes')
  t.equal(decodeFloat32Base64(encodeFloat32Base64(new Float32Array(6)), { sampleRate: 48000, channels: 6 }, MAX_AUDIO_BYTES).samples.length, 6, 'one 6-channel frame is fine')
  t.equal(decodeFloat32Base64(eight, { sampleRate: 48000, channels: 8 }, MAX_AUDIO_BYTES).byteLength, 32, 'one 8-channel frame is fine')
})

t.test('rejects NaN and infinite samples, wherever they are', async (t) => {
  for (const [name, bad] of [['NaN', Number.NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]] as const) {
    for (const at of [0, 7, 43]) {
      const samples = sine(22, STEREO_44K)
      samples[at] = bad
      throwsCode(t, () => decodeFloat32Base64(encodeFloat32Base64(samples), STEREO_44K, MAX_AUDIO_BYTES), 'INVALID_AUDIO', 400, `${name} at ${at}`)
    }
  }
  // A NaN with a payload (not the canonical 0x7fc00000 pattern) is still NaN.
  const payloadNaN = bytesToBase64([0x01, 0x00, 0xc0, 0x7f])
  throwsCode(t, () => decodeFloat32Base64(payloadNaN, MONO, 64), 'INVALID_AUDIO', 400, 'NaN with a payload')
  const message = (() => {
    const s = new Float32Array([0, 0, Number.NaN, 0])
    try { decodeFloat32Base64(encodeFloat32Base64(s), MONO, 64) } catch (err) { return (err as Error).message }
    return ''
  })()
  t.match(message, /sample 2\b/, 'the message names the bad sample')
})

t.test('size limit: PAYLOAD_TOO_LARGE past maxBytes, exactly maxBytes is fine', async (t) => {
  const sixteen = encodeFloat32Base64(new Float32Array([0.1, 0.2, 0.3, 0.4]))
  t.equal(decodeFloat32Base64(sixteen, MONO, 16).byteLength, 16, 'at the limit')
  throwsCode(t, () => decodeFloat32Base64(sixteen, MONO, 15), 'PAYLOAD_TOO_LARGE', 413, 'one byte over')
  throwsCode(t, () => decodeFloat32Base64(sixteen, MONO, 12), 'PAYLOAD_TOO_LARGE', 413)

  // The real limit: 1 MiB decoded is accepted, one more stereo frame is not.
  const atLimit = new Float32Array(MAX_AUDIO_BYTES / 4)
  t.equal(decodeFloat32Base64(encodeFloat32Base64(atLimit), STEREO_44K, MAX_AUDIO_BYTES).byteLength, MAX_AUDIO_BYTES)
  const over = new Float32Array(MAX_AUDIO_BYTES / 4 + 2)
  throwsCode(t, () => decodeFloat32Base64(encodeFloat32Base64(over), STEREO_44K, MAX_AUDIO_BYTES), 'PAYLOAD_TOO_LARGE', 413)

  // Checked on the length, before decoding: an oversized string of garbage is a 413, not a 400.
  throwsCode(t, () => decodeFloat32Base64('!'.repeat(4 * 1024 * 1024), MONO, MAX_AUDIO_BYTES), 'PAYLOAD_TOO_LARGE', 413, 'oversized garbage')
})

t.test('different formats decode the same bytes into the same samples', async (t) => {
  const samples = sine(100, MONO_48K)
  const data = encodeFloat32Base64(samples)
  const mono = decodeFloat32Base64(data, MONO_48K, MAX_AUDIO_BYTES)
  const stereo = decodeFloat32Base64(data, STEREO_44K, MAX_AUDIO_BYTES)
  t.same(arr(mono.samples), arr(stereo.samples), 'format only decides what counts as a whole frame')
  t.equal(mono.samples.length, 100)
})

t.test('property: text in bytes (TextBytes) and as a string decode alike, and as Node\'s own decoder judges it', async (t) => {
  const { default: fc } = await import('fast-check')
  const { TextBytes } = await import('../../src/schemas/text-bytes.js')
  /** The reference: Node's decoder, refusing what it would skip or read loosely (non-ASCII, URL-safe, stray bits). */
  const reference = (data: string): Buffer | 'invalid' => {
    if (data.length === 0 || data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return 'invalid'
    const bytes = Buffer.from(data, 'base64')
    return bytes.toString('base64') === data ? bytes : 'invalid'
  }
  const outcome = (decode: () => { samples: Float32Array }): Buffer | 'invalid' | 'not frames' => {
    try {
      const { samples } = decode()
      return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)
    } catch (err) {
      const message = (err as Error).message
      return /base64/.test(message) ? 'invalid' : 'not frames'
    }
  }
  const floats = fc.float32Array({ noNaN: true, noDefaultInfinity: true, maxLength: 24 }).map(encodeFloat32Base64)
  const mutated = fc.tuple(floats, fc.nat(), fc.constantFrom('=', '-', '_', 'é', '\u0000', ' ', 'A', '+', '/', '==', ''))
    .map(([text, at, piece]) => text.slice(0, at % (text.length + 1)) + piece + text.slice((at % (text.length + 1)) + 1))
  const scratch = new Float32Array(64)
  let accepted = 0
  const differing: string[] = []
  fc.assert(fc.property(fc.oneof(floats, mutated, fc.string({ maxLength: 16 })), fc.nat(7), (data, offset) => {
    const expected = reference(data)
    const fromString = outcome(() => decodeFloat32Base64(data, MONO, 1024))
    const inBytes = Buffer.from('#'.repeat(offset) + data, 'latin1')
    const fromBytes = Buffer.byteLength(data) === data.length ? outcome(() => decodeFloat32Base64(new TextBytes(inBytes, offset, data.length), MONO, 1024, scratch)) : fromString
    const same = (a: unknown, b: unknown) => (Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b)
    if (expected !== 'invalid') accepted++
    // Valid base64 that is not whole finite float32s is refused as such, not as bad text.
    const finite = (b: Buffer) => new Float32Array(new Uint8Array(b).buffer).every(Number.isFinite)
    const judged = expected === 'invalid' ? 'invalid' : (expected.length % 4 === 0 && finite(expected) ? expected : 'not frames')
    if (!same(fromString, judged) || !same(fromBytes, judged)) differing.push(JSON.stringify(data))
  }), { seed: 20261128, numRuns: 4000 })
  t.same(differing, [], 'every text is judged as Node\'s decoder judges it, and decodes to its bytes, from a string and from bytes')
  t.ok(accepted > 1000, `${accepted} of 4000 texts were valid base64`)
})
