import { encodePacketFrame } from '../codec/packet-framing.js'
import { joinChunkAnswers } from '../session/rest-wire.js'
import type { SessionRegistry } from '../session/session-registry.js'
import type { OpusHub } from './opus-hub.js'
import { OPUS_RATE, type OpusChunk } from './opus-chunk.js'

const json = new WeakMap<OpusChunk, Buffer>()

/**
 * A chunk's one-chunk REST answer (`[{…}]`, as for PCM) with `codec=opus`: the PCM answer's fields, with `data` the base64 of the chunk's
 * packets (uint16 N, N x uint16 length, the bytes; little-endian), 48 kHz and the stream's channels,
 * plus `codec`, `granule` (48 kHz samples since the stream began, pre-skip included, at the first packet)
 * and `receivedAt` (when the chunk reached the server, server clock ms).
 */
export function opusChunkJson (chunk: OpusChunk): Buffer {
  let out = json.get(chunk)
  if (out === undefined) {
    const data = encodePacketFrame(chunk.packets).toString('base64')
    out = Buffer.from(`[{"data":"${data}","sampleRate":${OPUS_RATE},"channels":${chunk.channels},"timestamp":${chunk.timestamp},` +
      `"sequenceNumber":${chunk.sequenceNumber},"codec":"opus","granule":${chunk.startGranule},"receivedAt":${chunk.receivedAt}}]`, 'latin1')
    json.set(chunk, out)
  }
  return out
}

/**
 * A REST poll with codec=opus: the Opus chunks after `since` as one JSON array (undefined when there are
 * none yet). The poller counts as a listener as a PCM poller does; the first poll starts the encoder.
 */
export function pollOpusJson (registry: SessionRegistry, hub: OpusHub, id: string, since: number, listenerKey: string, now: number): Buffer | undefined {
  const session = registry.requireActive(id)
  session.listeners.touch(listenerKey, now)
  const chunks = hub.poll(session, since, now)
  if (chunks.length === 0) return undefined
  const answer = joinChunkAnswers(chunks.map(opusChunkJson))
  hub.sent(answer.length)
  return answer
}
