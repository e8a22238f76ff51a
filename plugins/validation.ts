import fp from 'fastify-plugin'
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import type { FastifyBaseLogger, FastifyPluginAsync, FastifySchemaCompiler } from 'fastify'
import { TEXT_BYTES, TextBytes } from '../src/schemas/text-bytes.js'

// unicode: false: maxLength compares .length (UTF-16 units) instead of walking every character to count
// code points, which on a 235 KB audio body was a sixth of the server's CPU under load. The bounds are
// sanity limits on sizes, where UTF-16 units are the right measure anyway.
// Ajv 8 still honours the option but warns that it is deprecated, on the console, at every start; that
// one warning is expected and dropped, and test/validation.test.ts fails if the option stops working.
const common: Options = { useDefaults: true, removeAdditional: true, allErrors: false, strict: false, unicode: false }
const UNICODE_DEPRECATION = /^DEPRECATED: option unicode\./

/** Ajv's messages go to the app's structured log instead of the console. */
function ajvLogger (log: FastifyBaseLogger): NonNullable<Options['logger']> {
  return {
    log: (...args: unknown[]) => { log.debug({ ajv: args.map(String) }, 'ajv') },
    warn: (...args: unknown[]) => {
      if (typeof args[0] === 'string' && UNICODE_DEPRECATION.test(args[0])) return
      log.warn({ ajv: args.map(String) }, 'ajv warning')
    },
    error: (...args: unknown[]) => { log.error({ ajv: args.map(String) }, 'ajv error') }
  }
}

/**
 * Bodies are JSON, so their types are checked as sent: no coercion (Fastify's default would turn a
 * `null` number into 0 and a `null` lyrics string into ""). Params and query strings are text, so
 * they are coerced (`since=5` is the integer 5).
 */
export function createValidatorCompiler (log: FastifyBaseLogger): FastifySchemaCompiler<unknown> {
  const logger = ajvLogger(log)
  const bodies = new Ajv({ ...common, logger, coerceTypes: false })
  const text = new Ajv({ ...common, logger, coerceTypes: 'array' })
  return ({ schema, httpPart }) => httpPart === 'body' ? compileBody(bodies, schema as BodySchema) : text.compile(schema as object)
}

interface StringBounds { minLength?: number, maxLength?: number, [TEXT_BYTES]?: true }
interface BodySchema { properties?: Record<string, StringBounds> }

/**
 * A body validator. Where the schema lets a string property arrive as TextBytes (StringOrTextBytes), a
 * body holding TextBytes there has that property checked against its length bounds (the bytes are its
 * characters, checked by the parser that made them) and every other property against the schema.
 */
function compileBody (ajv: Ajv, schema: BodySchema): ValidateFunction {
  const whole = ajv.compile(schema)
  const properties = schema.properties ?? {}
  const byteFields = Object.keys(properties).filter((key) => properties[key]![TEXT_BYTES] === true)
  if (byteFields.length === 0) return whole
  if (byteFields.length > 1) throw new Error('a body schema may let one property arrive as TextBytes')
  const key = byteFields[0]!
  const bounds = properties[key]!
  const others = ajv.compile({ ...schema, properties: { ...properties, [key]: {} } })
  const validate = ((body: unknown) => {
    const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined
    if (!(value instanceof TextBytes)) {
      const valid = whole(body) as boolean
      validate.errors = whole.errors ?? null
      return valid
    }
    const tooShortOrLong = lengthError(key, value.length, bounds)
    if (tooShortOrLong !== undefined) {
      validate.errors = [tooShortOrLong]
      return false
    }
    const valid = others(body) as boolean
    validate.errors = others.errors ?? null
    return valid
  }) as ValidateFunction
  validate.schema = schema
  return validate
}

/** Ajv's own error for a string outside its length bounds, so the answer reads the same either way. */
function lengthError (key: string, length: number, bounds: StringBounds): ErrorObject | undefined {
  const instancePath = `/${key}`
  if (bounds.minLength !== undefined && length < bounds.minLength) {
    return { instancePath, schemaPath: `#/properties/${key}/minLength`, keyword: 'minLength', params: { limit: bounds.minLength }, message: `must NOT have fewer than ${bounds.minLength} characters` }
  }
  if (bounds.maxLength !== undefined && length > bounds.maxLength) {
    return { instancePath, schemaPath: `#/properties/${key}/maxLength`, keyword: 'maxLength', params: { limit: bounds.maxLength }, message: `must NOT have more than ${bounds.maxLength} characters` }
  }
  return undefined
}

/** Sets the validator compiler on the root, so that every route declared after it validates this way. */
const validation: FastifyPluginAsync = async (app) => {
  app.setValidatorCompiler(createValidatorCompiler(app.log))
}

export default fp(validation, { name: 'validation', fastify: '5.x' })
