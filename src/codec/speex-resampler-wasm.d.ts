// Ambient types for @echogarden/speex-resampler-wasm 0.3.x (an emscripten build of the SpeexDSP
// resampler that ships no typings). Only the members used by speex-resampler.ts are declared.
// Pointers are byte offsets into the module's linear memory.

interface SpeexResamplerWasmModule {
  HEAPU32: Uint32Array
  HEAPF32: Float32Array
  _malloc(bytes: number): number
  _free(ptr: number): void
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number
  _speex_resampler_destroy(state: number): void
  _speex_resampler_process_interleaved_float(
    state: number,
    inPtr: number,
    inLenPtr: number,
    outPtr: number,
    outLenPtr: number,
  ): number
  _speex_resampler_reset_mem(state: number): number
  _speex_resampler_skip_zeros(state: number): number
  _speex_resampler_get_input_latency(state: number): number
  _speex_resampler_get_output_latency(state: number): number
}

declare module '@echogarden/speex-resampler-wasm/simd' {
  const factory: (moduleArg?: object) => Promise<SpeexResamplerWasmModule>
  export default factory
}

declare module '@echogarden/speex-resampler-wasm' {
  const factory: (moduleArg?: object) => Promise<SpeexResamplerWasmModule>
  export default factory
}
