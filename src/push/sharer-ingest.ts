import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { Static, TSchema } from '@sinclair/typebox'
import { DomainError } from '../errors.js'
import { MAX_AUDIO_CHUNK_BYTES, MetadataBody } from '../schemas/share.js'
import { AudioFrameFields } from '../schemas/push.js'
import { float32Frames } from '../session/pcm-codec.js'
import type { SessionRegistry } from '../session/session-registry.js'
import { decodeAudioFrame } from './push-frames.js'

const metadataCheck = TypeCompiler.Compile(MetadataBody)
const frameCheck = TypeCompiler.Compile(AudioFrameFields)

/** Throws VALIDATION_ERROR naming the first problem, in the words the REST routes use, unless `value` passes. */
function validate<T extends TSchema> (check: TypeCheck<T>, value: unknown, what: string): asserts value is Static<T> {
  if (check.Check(value)) return
  const first = check.Errors(value).First()
  throw new DomainError('VALIDATION_ERROR', `${what}${first?.path ?? ''} ${first?.message ?? 'is invalid'}`)
}

/**
 * The WebSocket sharer's protocol: a text frame is a metadata object, a binary frame an audio frame
 * (push-frames.ts). Each is validated like the REST bodies and handed to the registry; anything wrong
 * throws the DomainError the REST routes would answer with.
 */
export function receiveSharerFrame (registry: SessionRegistry, sessionId: string, data: Buffer, isBinary: boolean, now: number): void {
  if (!isBinary) {
    let body: unknown
    try {
      body = JSON.parse(data.toString('utf8'))
    } catch {
      throw new DomainError('INVALID_JSON', 'A text frame must be a JSON metadata object')
    }
    validate(metadataCheck, body, 'metadata')
    registry.receiveMetadata(sessionId, body, now)
    return
  }
  const frame = decodeAudioFrame(data)
  if (frame === undefined) throw new DomainError('INVALID_AUDIO', 'A binary frame starts with the 20-byte audio header')
  const fields = {
    sampleRate: frame.format.sampleRate,
    channels: frame.format.channels,
    sequenceNumber: frame.sequenceNumber,
    timestamp: frame.timestamp === 0 ? undefined : frame.timestamp
  }
  validate(frameCheck, fields, 'audio frame')
  if (frame.pcm.length > MAX_AUDIO_CHUNK_BYTES) {
    throw new DomainError('PAYLOAD_TOO_LARGE', `audio chunk is ${frame.pcm.length} bytes; at most ${MAX_AUDIO_CHUNK_BYTES} bytes are accepted`)
  }
  if (frame.pcm.length === 0) throw new DomainError('INVALID_AUDIO', 'The audio frame holds no samples')
  const samples = float32Frames(frame.pcm, frame.format)
  registry.receiveAudioSamples(sessionId, { ...fields, samples }, now)
}
