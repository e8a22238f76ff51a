import t from 'tap'
import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import { parseAudioBodyFast } from '../../src/session/audio-body.js'
import { encodeFloat32Base64 } from '../../src/session/pcm-codec.js'
import { audioChunkJson } from '../../src/session/rest-wire.js'
import { TextBytes } from '../../src/schemas/text-bytes.js'
import { sine } from '../helper.js'

// The fast path must answer exactly what JSON.parse answers, or nothing (the caller then parses the whole
// body the standard way). These tests pin both halves: it is taken for the bodies clients send, and it
// never answers differently from JSON.parse.

const DATA = encodeFloat32Base64(sine(22050))
const fields = { sampleRate: 44100, channels: 2, timestamp: 1732480000000, sequenceNumber: 7 }
const bytes = (text: string) => Buffer.from(text, 'utf8')
/** How System.Text.Json (the desktop client) writes a string by default: every '+' as \u002B. */
const stj = (json: string) => json.replaceAll('+', '\\u002B')
/** The fast path's answer as JSON.parse would give it: `data`'s bytes as the string they are. */
const asParsed = (fast: Record<string, unknown> | undefined) =>
  fast === undefined ? undefined : { ...fast, data: fast.data instanceof TextBytes ? fast.data.toString() : fast.data }

t.test('the bodies clients send take the fast path and equal JSON.parse', async (t) => {
  const plain = JSON.stringify({ data: DATA, ...fields })
  t.ok(DATA.includes('+'), 'the test chunk has \'+\' to escape')
  const bodies: Record<string, string> = {
    'JSON.stringify': plain,
    'System.Text.Json (+ as \\u002B)': stj(plain),
    '/ escaped as \\/': plain.replaceAll('/', '\\/'),
    'data last': JSON.stringify({ ...fields, data: DATA }),
    'whitespace around the colon, pretty-printed': JSON.stringify({ data: DATA, ...fields }, null, 2).replace('"data": ', '"data" :\n '),
    'extra fields': JSON.stringify({ data: DATA, ...fields, title: 'Ünïcödé ♪', nested: { list: [1, 2] } })
  }
  for (const [name, body] of Object.entries(bodies)) {
    const fast = parseAudioBodyFast(bytes(body))
    t.ok(fast?.data instanceof TextBytes, `${name}: taken, data as its bytes`)
    t.ok(isDeepStrictEqual(asParsed(fast), JSON.parse(body)), `${name}: equal to JSON.parse`)
  }
  const fromClient = parseAudioBodyFast(bytes(stj(plain)))!.data as TextBytes
  t.equal(fromClient.toString(), DATA, 'the relayed text is canonical base64 with \'+\'')
  const format = { sampleRate: 44100, channels: 2 }
  const answer = audioChunkJson(fromClient, format, 5, 7)
  t.ok(answer.equals(audioChunkJson(DATA, format, 5, 7)), 'its chunk answer is byte-identical to the one made from the string')
  t.equal(answer.buffer, fromClient.buffer.buffer, 'and made in the bytes the parser wrote, without a copy')
})

t.test('anything it cannot be sure of is left to the standard parser', async (t) => {
  const cases: Record<string, string> = {
    'no data key': '{"sampleRate":44100}',
    'data not a string': '{"data":12,"channels":2}',
    'an escaped quote in data': '{"data":"QU\\"FB","channels":2}',
    'a raw control character in data (invalid JSON)': '{"data":"QUFB\u0001QUF","channels":2}',
    'non-ASCII in data': '{"data":"QUFBé","channels":2}',
    'nested data before the real one': '{"x":{"data":"QUFB"},"data":""}',
    'data as a value first': '{"x":"data","data":"QUFB"}',
    'a duplicate key (JSON.parse keeps the last)': '{"data":"QUFB","data":"QkJC"}',
    'a duplicate key spelled with an escape': '{"data":"QUFB","d\\u0061ta":""}',
    'prototype poisoning': '{"data":"QUFB","__proto__":{"x":1}}',
    'constructor': '{"data":"QUFB","constructor":{"prototype":{"x":1}}}',
    'an array': '[{"data":"QUFB"}]',
    'broken JSON around it': '{"data":"QUFB",',
    'an unterminated data string': '{"data":"QUFB'
  }
  for (const [name, body] of Object.entries(cases)) t.equal(parseAudioBodyFast(bytes(body)), undefined, name)
  // Text made of base64's characters is read whatever its shape: the decoder judges it, as it judges a string.
  const notWholeGroups = '{"data":"QUFBQ","channels":2}'
  t.ok(isDeepStrictEqual(asParsed(parseAudioBodyFast(bytes(notWholeGroups))), JSON.parse(notWholeGroups)), 'not whole base64 groups: read as they are')
})

t.test('property: for generated bodies the fast path is JSON.parse or nothing', async (t) => {
  const base64 = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a).toString('base64'))
  const anyData = fc.oneof(base64, fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('QUFB\\/', '-_-_', 'QUFB=', 'QQ==QUFB', 'QUF\u0001', 'QUFé'))
  const extra = fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('data', '__proto__', 'constructor', 'd\\u0061ta')),
    fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
  let taken = 0
  const differing: string[] = []
  fc.assert(fc.property(anyData, extra, fc.boolean(), fc.boolean(), fc.nat(4), fc.boolean(), (data, others, first, escapePlus, spaces, raw) => {
    const entries = Object.entries(others)
    // Raw: the characters as they are, control characters and all (then often not valid JSON).
    const dataEntry = `"data":${' '.repeat(spaces)}${raw ? `"${data}"` : JSON.stringify(data)}`
    const parts = entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    const text = `{${(first ? [dataEntry, ...parts] : [...parts, dataEntry]).join(',')}}`
    const body = escapePlus ? stj(text) : text
    let expected: unknown
    try {
      expected = JSON.parse(body)
    } catch {
      expected = undefined
    }
    const fast = parseAudioBodyFast(bytes(body))
    if (fast === undefined) return
    taken++
    if (!isDeepStrictEqual(asParsed(fast), expected)) differing.push(body.slice(0, 200))
  }), { seed: 20261124, numRuns: 3000 })
  t.same(differing, [], 'no body where the fast path answered differently from JSON.parse')
  t.ok(taken > 200, `the fast path answered ${taken} of 3000 generated bodies`)
})
