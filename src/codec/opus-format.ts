/** Fixed output format of every Opus stream produced by this module. */

/** Opus always runs at 48 kHz here; Ogg granule positions count 48 kHz samples. */
export const OPUS_SAMPLE_RATE = 48_000

/** One Opus frame = 20 ms = 960 samples per channel at 48 kHz. */
export const OPUS_FRAME_SAMPLES = 960

export const OPUS_FRAME_MS = 20

/** Opus output is mono or stereo (channel mapping family 0). */
export type OpusChannels = 1 | 2

/**
 * Encoder lookahead of libopus at 48 kHz with OPUS_APPLICATION_AUDIO:
 * Fs/400 (2.5 ms) + delay compensation Fs/250 (4 ms) = 312 samples.
 * @discordjs/opus has no getter for OPUS_GET_LOOKAHEAD, so the value is fixed here
 * and verified by test/codec/opus-encoder.test.ts (encode + decode + cross-correlation).
 */
export const LIBOPUS_LOOKAHEAD_48K = 312
