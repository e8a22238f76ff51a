import fp from 'fastify-plugin'
import { Ajv, type Options } from 'ajv'
import type { FastifyBaseLogger, FastifyPluginAsync, FastifySchemaCompiler } from 'fastify'

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
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodies : text).compile(schema as object)
}

/** Sets the validator compiler on the root, so that every route declared after it validates this way. */
const validation: FastifyPluginAsync = async (app) => {
  app.setValidatorCompiler(createValidatorCompiler(app.log))
}

export default fp(validation, { name: 'validation', fastify: '5.x' })
