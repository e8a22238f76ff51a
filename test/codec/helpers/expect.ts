import { CodecError } from '../../../src/codec/codec-error.js'

interface Asserts {
  fail(message: string): unknown
  pass(message: string): unknown
}

/** Asserts that fn throws a CodecError with the given code. */
export function expectCodecError(t: Asserts, fn: () => unknown, code: string, message = `throws CodecError ${code}`): void {
  try {
    fn()
  } catch (err) {
    if (err instanceof CodecError && err.code === code) {
      t.pass(message)
      return
    }
    t.fail(`${message}: got ${err instanceof CodecError ? `CodecError ${err.code}` : String(err)}`)
    return
  }
  t.fail(`${message}: nothing thrown`)
}
