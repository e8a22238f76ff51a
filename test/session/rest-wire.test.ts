import t from 'tap'
import { encodeFloat32Base64 } from '../../src/session/pcm-codec.js'
import { audioChunkJson, joinChunkAnswers } from '../../src/session/rest-wire.js'
import { STEREO_44K, sine } from '../fixtures/audio.js'

t.test('audioChunkJson is a one-chunk answer: the client\'s chunk object, fields in order, in an array', async (t) => {
  const data = encodeFloat32Base64(sine(441, STEREO_44K))
  const json = audioChunkJson(data, STEREO_44K, 1_700_000_000_123, 42)
  t.ok(Buffer.isBuffer(json))
  const text = json.toString('utf8')
  t.equal(text, `[{"data":"${data}","sampleRate":44100,"channels":2,"timestamp":1700000000123,"sequenceNumber":42}]`)
  const [parsed] = JSON.parse(text) as Array<Record<string, unknown>>
  if (parsed === undefined) throw new Error('no chunk')
  t.same(Object.keys(parsed), ['data', 'sampleRate', 'channels', 'timestamp', 'sequenceNumber'])
  t.equal(parsed.data, data, 'the base64 is byte-identical')
  t.equal(json.byteLength, Buffer.byteLength(text), 'no slack bytes at the end of the buffer')
})

t.test('audioChunkJson with edge values', async (t) => {
  const json = audioChunkJson('AAAAAA==', { sampleRate: 8000, channels: 1 }, 0, 2 ** 31 - 1)
  t.same(JSON.parse(json.toString()), [{ data: 'AAAAAA==', sampleRate: 8000, channels: 1, timestamp: 0, sequenceNumber: 2147483647 }])
  const data = 'ab+/'.repeat(1000)
  t.equal(JSON.parse(audioChunkJson(data, STEREO_44K, 1, 0).toString())[0].data, data, '"+" and "/" need no escaping')
})

t.test('audioChunkJson completes a shell in place, and never cuts a tail that does not fit it', async (t) => {
  const { CHUNK_TEXT_START, chunkAnswerShell } = await import('../../src/session/rest-wire.js')
  const { TextBytes } = await import('../../src/schemas/text-bytes.js')
  const data = 'QUFB'.repeat(10)
  const inShell = () => {
    const shell = chunkAnswerShell(data.length)
    shell.write(data, CHUNK_TEXT_START, 'latin1')
    return new TextBytes(shell, CHUNK_TEXT_START, data.length)
  }
  const text = inShell()
  const answer = audioChunkJson(text, STEREO_44K, 5, 7)
  t.equal(answer.buffer, text.buffer.buffer, 'within the schema\'s bounds: completed in the shell')
  t.same(JSON.parse(answer.toString()), [{ data, sampleRate: 44100, channels: 2, timestamp: 5, sequenceNumber: 7 }])
  // A chunk restored from a snapshot carries whatever safe integers it was saved with.
  const huge = Number.MAX_SAFE_INTEGER
  for (const [name, from] of [['from a shell', inShell()], ['from a string', data], ['from bytes outside a shell', new TextBytes(Buffer.from(`..${data}`), 2, data.length)]] as const) {
    const big = audioChunkJson(from, { sampleRate: huge, channels: huge }, huge, huge)
    t.same(JSON.parse(big.toString()), [{ data, sampleRate: huge, channels: huge, timestamp: huge, sequenceNumber: huge }], `${name}: the whole tail`)
  }
})

t.test('joinChunkAnswers: one answer is sent as it is, several become one array', async (t) => {
  const b = (text: string): Buffer => Buffer.from(text)
  t.equal(joinChunkAnswers([]).toString(), '[]')
  const one = b('[{"a":1}]')
  t.equal(joinChunkAnswers([one]), one, 'the one chunk\'s own Buffer, not a copy')
  t.equal(joinChunkAnswers([b('[{"a":1}]'), b('[{"b":2}]')]).toString(), '[{"a":1},{"b":2}]')
  t.equal(joinChunkAnswers([b('[{"a":1}]'), b('[{"b":2}]'), b('[{"c":3}]')]).toString(), '[{"a":1},{"b":2},{"c":3}]')
  const chunks = [0, 1, 2].map((seq) => audioChunkJson(encodeFloat32Base64(sine(10, STEREO_44K, seq * 10)), STEREO_44K, 1000 + seq, seq))
  const out = joinChunkAnswers(chunks)
  const parsed = JSON.parse(out.toString()) as Array<{ sequenceNumber: number, timestamp: number }>
  t.same(parsed.map((c) => c.sequenceNumber), [0, 1, 2])
  t.same(parsed.map((c) => c.timestamp), [1000, 1001, 1002])
  t.equal(out.byteLength, chunks.reduce((n, c) => n + c.byteLength, 0) - 2, 'the inner brackets become commas')
})
