import { Ajv, type Options } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'

const common: Options = { useDefaults: true, removeAdditional: true, allErrors: false, strict: false }

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
