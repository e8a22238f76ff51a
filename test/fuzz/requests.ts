import fc from 'fast-check'
import { encodeFloat32Base64 } from '../../src/session/pcm-codec.js'
import { TOKEN } from '../helper.js'

export const LIVE_ID = '123456'

/** Session ids: the live one, unknown ones, and look-alikes (other digit scripts, short, long, encoded). */
const sessionId = fc.oneof(
  { weight: 4, arbitrary: fc.constant(LIVE_ID) },
  fc.stringMatching(/^[0-9]{6}$/),
  fc.constantFrom('١٢٣٤٥٦', '１２３４５６', '12345', '1234567', '12345a', '%31%32%33%34%35%36', '123456%00', '../123', '', ' 123456'),
  fc.string({ maxLength: 12 })
)

const since = fc.oneof(
  fc.integer({ min: -3, max: 40 }).map(String),
  fc.constantFrom('', 'NaN', 'Infinity', '-Infinity', '1e309', '-1e309', '0x10', '1.5', '-0', '2147483648', '99999999999999999999', 'null', '[]', '%00'),
  fc.string({ maxLength: 10 })
)

/** Numbers the way broken clients send them. */
const wildNumber = fc.oneof(
  fc.integer(), fc.double(), fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308),
  fc.constantFrom('NaN', '1e309', '44100', '', null, true, [], {})
)

const sample = fc.float({ noDefaultInfinity: false, noNaN: false })
const audioData = fc.oneof(
  fc.array(sample, { minLength: 0, maxLength: 64 }).map((xs) => encodeFloat32Base64(Float32Array.from(xs))),
  fc.base64String({ maxLength: 64 }),
  fc.string({ maxLength: 64 }),
  fc.constantFrom('', '====', 'AAAA-_AA', 'AAB=', null, 5)
)

const audioBody = fc.record({
  data: audioData,
  sampleRate: fc.oneof(fc.constantFrom(44100, 48000, 8000, 192000), wildNumber),
  channels: fc.oneof(fc.constantFrom(1, 2), wildNumber),
  timestamp: fc.oneof(fc.constant(1234567890123), wildNumber),
  sequenceNumber: fc.oneof(fc.nat({ max: 50 }), wildNumber)
}, { requiredKeys: [] })

const validAudio = fc.record({
  channels: fc.constantFrom(1, 2),
  frames: fc.integer({ min: 1, max: 32 }),
  sampleRate: fc.constantFrom(8000, 44100, 48000, 192000),
  sequenceNumber: fc.nat({ max: 60 })
}).map(({ channels, frames, sampleRate, sequenceNumber }) => ({
  data: encodeFloat32Base64(Float32Array.from({ length: frames * channels }, (_, i) => Math.sin(i) / 2)),
  sampleRate, channels, timestamp: 1234567890123, sequenceNumber
}))

/** A valid body with one field replaced by something wild, or removed. */
function mutated<T extends Record<string, unknown>> (valid: fc.Arbitrary<T>, wild: fc.Arbitrary<unknown>) {
  return fc.tuple(valid, fc.nat(), wild, fc.boolean()).map(([body, pick, value, remove]) => {
    const keys = Object.keys(body)
    const key = keys[pick % keys.length]!
    const copy: Record<string, unknown> = { ...body }
    if (remove) delete copy[key]
    else copy[key] = value
    return copy
  })
}

const wildString = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(null, 5, true, [], {}, '\u0000', '\ud800', '🎵'))

const metadataBody = fc.record({
  title: wildString,
  artist: wildString,
  lyrics: fc.oneof(fc.constant(null), wildString),
  hasSyncedLyrics: fc.oneof(fc.boolean(), wildNumber),
  elapsedSeconds: fc.oneof(fc.double({ min: 0, max: 1e4, noNaN: true }), wildNumber),
  totalSeconds: fc.oneof(fc.double({ min: 0, max: 1e4, noNaN: true }), wildNumber),
  thumbnailData: fc.oneof(fc.constant(null), fc.base64String({ maxLength: 40 }), wildString),
  timestamp: fc.oneof(fc.constant(1234567890123), wildNumber)
}, { requiredKeys: [] })

/** Deeply nested, prototype-poisoning and otherwise hostile JSON texts. */
const hostileJson = fc.oneof(
  fc.nat({ max: 5000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.nat({ max: 2000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.constantFrom(
    '{"__proto__":{"polluted":true},"sessionId":"123456"}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"sessionId":"123456"', '{', '"', 'null', '[]', '1e309', '{"sessionId":1e309}', '\u0000', '{"a":NaN}'
  ),
  fc.jsonValue().map((v) => JSON.stringify(v))
)

const validMetadata = fc.record({
  title: fc.string({ maxLength: 30 }),
  artist: fc.string({ maxLength: 30 }),
  lyrics: fc.option(fc.string({ maxLength: 60 })),
  hasSyncedLyrics: fc.boolean(),
  elapsedSeconds: fc.double({ min: 0, max: 1e4, noNaN: true }),
  totalSeconds: fc.double({ min: 0, max: 1e4, noNaN: true }),
  thumbnailData: fc.option(fc.base64String({ maxLength: 40 })),
  timestamp: fc.nat()
})

const wildValue = fc.oneof(wildNumber, wildString)

/** Chat text as people and attackers type it: markup, bidi overrides, controls, long words, odd scripts. */
const chatText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.constantFrom('<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '\u202Egnp.exe', '\u0000\u0007', 'x'.repeat(501),
    'é'.normalize('NFD').repeat(300), 'a' + '\u0301'.repeat(100), '🎵'.repeat(500), ' ', '\ud800')
)
const validChat = fc.record({ name: fc.string({ minLength: 1, maxLength: 12 }), text: chatText })

const body = fc.oneof(
  audioBody.map((b) => JSON.stringify(b)),
  validAudio.map((b) => JSON.stringify(b)),
  mutated(validAudio, wildValue).map((b) => JSON.stringify(b)),
  metadataBody.map((b) => JSON.stringify(b)),
  validChat.map((b) => JSON.stringify(b)),
  mutated(validChat, wildValue).map((b) => JSON.stringify(b)),
  fc.record({ messageId: fc.oneof(fc.nat({ max: 20 }), wildValue) }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
  validMetadata.map((b) => JSON.stringify(b)),
  mutated(validMetadata, wildValue).map((b) => JSON.stringify(b)),
  fc.record({ sessionId }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
  hostileJson,
  // Truncated versions of valid-looking bodies.
  fc.tuple(audioBody.map((b) => JSON.stringify(b)), fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
  fc.constant(undefined)
)

const contentType = fc.oneof(
  { weight: 5, arbitrary: fc.constant('application/json') },
  fc.constantFrom('application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x', 'application/octet-stream', '', 'application/jsonx', 'APPLICATION/JSON', undefined)
)

const authorization = fc.oneof(
  { weight: 6, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  fc.constantFrom(TOKEN, `bearer  ${TOKEN}`, 'Bearer ', 'Bearer', '', `Bearer ${TOKEN} extra`, `Basic ${TOKEN}`, undefined),
  fc.string({ maxLength: 30 })
)

const encoding = fc.constantFrom(undefined, undefined, undefined, 'gzip', 'deflate', 'br', 'identity', 'chunked', 'x-unknown')

const route = fc.oneof(
  fc.constant({ method: 'POST' as const, path: (_id: string) => '/api/share/start' }),
  ...(['metadata', 'audio', 'stop'] as const).map((r) => fc.constant({ method: 'POST' as const, path: (id: string) => `/api/share/${id}/${r}` })),
  ...(['status', 'metadata', 'history', 'recording.ogg', 'recording.cue'] as const).map((r) => fc.constant({ method: 'GET' as const, path: (id: string) => `/api/share/${id}/${r}` })),
  fc.constant({ method: 'POST' as const, path: (id: string) => `/api/share/${id}/recording` }),
  since.map((s) => ({ method: 'GET' as const, path: (id: string) => `/api/share/${id}/audio?since=${s}` })),
  fc.constant({ method: 'POST' as const, path: (id: string) => `/api/share/${id}/chat` }),
  fc.constant({ method: 'POST' as const, path: (id: string) => `/api/share/${id}/chat/mute` }),
  since.map((s) => ({ method: 'GET' as const, path: (id: string) => `/api/share/${id}/chat?since=${s}` })),
  since.map((s) => ({ method: 'DELETE' as const, path: (id: string) => `/api/share/${id}/chat/${s}` })),
  fc.constant({ method: 'GET' as const, path: (_id: string) => '/health' }),
  fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), fc.webPath()).map(([method, p]) => ({ method, path: (_id: string) => '/' + p.replace(/^\/+/, '') }))
)

export interface FuzzRequest {
  method: string
  url: string
  headers: Record<string, string>
  payload: string | undefined
}

export const request: fc.Arbitrary<FuzzRequest> = fc.record({
  route, id: sessionId, body, contentType, authorization, encoding,
  extraHeader: fc.option(fc.tuple(fc.constantFrom('x-client-id', 'user-agent', 'content-length', 'origin', 'x-forwarded-for'), fc.string({ maxLength: 20 })))
}).map(({ route, id, body, contentType, authorization, encoding, extraHeader }) => {
  const headers: Record<string, string> = {}
  if (authorization !== undefined) headers.authorization = authorization
  if (contentType !== undefined && body !== undefined) headers['content-type'] = contentType
  if (encoding !== undefined) headers['content-encoding'] = encoding
  if (extraHeader !== null && extraHeader[0] !== 'content-length') headers[extraHeader[0]] = extraHeader[1]
  return { method: route.method, url: route.path(encodeURI(id)), headers, payload: route.method === 'GET' || route.method === 'HEAD' ? undefined : body }
})
