/**
 * A codec invariant broken (a closed encoder fed, a malformed frame or Ogg option): a programming or
 * data error inside the server, never a client's to fix, so it has no place among the API's error codes
 * and any request it reaches answers 500.
 */
export type CodecErrorCode =
  | 'DECODER_CLOSED' | 'ENCODER_CLOSED' | 'INVALID_ARGUMENT' | 'INVALID_ENCODER_OPTIONS' | 'INVALID_FRAME'
  | 'INVALID_OGG_OPTIONS' | 'INVALID_OPUS_PACKET' | 'INVALID_PACKET_FRAMING' | 'INVALID_PCM_CHUNK'
  | 'OGG_HEADERS_ALREADY_WRITTEN' | 'OGG_PAGE_OVERFLOW' | 'OGG_STREAM_ENDED' | 'RESAMPLER_DESTROYED' | 'RESAMPLER_FAILED'

export class CodecError extends Error {
  override name = 'CodecError'

  constructor (readonly code: CodecErrorCode, message: string, readonly details: Readonly<Record<string, unknown>> = {}) {
    super(message)
  }
}
