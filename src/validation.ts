import { Ajv, type Options } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'

// unicode: false: maxLength compares .length (UTF-16 units) instead of walking every character to count
// code points, which on a 235 KB audio body was a sixth of the server's CPU under load. The bounds are
// sanity limits on sizes, where UTF-16 units are the right measure anyway.
const common: Options = { useDefaults: true, removeAdditional: true, allErrors: false, strict: false, unicode: false }

/**
 * Bodies are JSON, so their types are checked as sent: no coercion (Fastify's default would turn a
 * `null` number into 0 and a `null` lyrics string into ""). Params and query strings are text, so
 * they are coerced (`since=5` is the integer 5).
 */
export function createValidatorCompiler (): FastifySchemaCompiler<unknown> {
  const bodies = new Ajv({ ...common, coerceTypes: false })
  const text = new Ajv({ ...common, coerceTypes: 'array' })
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodies : text).compile(schema as object)
}
