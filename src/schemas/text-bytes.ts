import { Type, type TString } from '@sinclair/typebox'

/**
 * A JSON string value kept as the ASCII bytes of its characters (escapes already resolved) instead of a
 * JS string. A route's body parser may hand a large string field over this way: a 235 KB string would be
 * allocated straight into V8's old generation, and a hundred of them a second keep the major garbage
 * collector running (issue #20). The bytes are `buffer[start, start + length)`; whoever made the value
 * guarantees they are exactly the characters JSON.parse would have given, each below 0x80.
 */
export class TextBytes {
  constructor (readonly buffer: Buffer, readonly start: number, readonly length: number) {
    if (start < 0 || length < 0 || start + length > buffer.length) throw new RangeError('the text lies outside its buffer')
  }

  /** The characters as a JS string (tests and tools; the hot path reads the bytes). */
  toString (): string {
    return this.buffer.toString('latin1', this.start, this.start + this.length)
  }
}

/** Marks a string property whose value may arrive as TextBytes (see plugins/validation.ts). */
export const TEXT_BYTES = Symbol('text-bytes')

/**
 * A string property a route's parser may hand over as TextBytes. In JSON Schema (the OpenAPI document,
 * and validation of a body parsed the ordinary way) it is exactly `schema`; a TextBytes value is checked
 * against the schema's length bounds, so `schema` may not constrain anything else.
 */
export function StringOrTextBytes (schema: TString) {
  const { pattern, format } = schema
  if (pattern !== undefined || format !== undefined) throw new Error('a TextBytes field can be checked on its length only')
  return Type.Unsafe<string | TextBytes>({ ...schema, [TEXT_BYTES]: true })
}
