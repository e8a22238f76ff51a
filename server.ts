import { createRequire } from 'node:module'
import { buildApp, processLogger } from './app.js'
import { ConfigError, loadConfig } from './src/config.js'

/** Entry point: the only module that reads process.env, listens, and handles signals. */
async function main (): Promise<void> {
  let config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }

  const app = await buildApp(config, {
    logger: processLogger({
      stdoutIsTTY: process.stdout.isTTY === true,
      nodeEnv: process.env.NODE_ENV,
      resolvePrettyPrinter: () => {
        try {
          return createRequire(import.meta.url).resolve('pino-pretty')
        } catch {
          return undefined // a development dependency: not in the production image
        }
      }
    })
  })

  if (config.tokenGenerated) {
    // Printed once, to the terminal rather than the JSON log, so `npm start` works without any set-up.
    process.stderr.write(
      '\nBEARER_TOKEN is not set, so this run uses a generated token:\n' +
      `  ${config.bearerToken}\n` +
      `Clients send "Authorization: Bearer ${config.bearerToken}" (in the desktop app, BearerToken = "Bearer ${config.bearerToken}").\n` +
      'Set BEARER_TOKEN to keep a token across restarts; NODE_ENV=production refuses to start without one.\n\n'
    )
  }

  let shuttingDown: Promise<void> | undefined
  const shutdown = (signal: string) => {
    if (shuttingDown !== undefined) {
      app.log.warn({ signal }, 'second signal: exiting at once')
      process.exit(1)
    }
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests')
    const deadline = setTimeout(() => {
      app.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown deadline passed: exiting')
      process.exit(1)
    }, config.shutdownTimeoutMs).unref()
    shuttingDown = app.close().then(() => {
      clearTimeout(deadline)
      app.log.info('shutdown complete')
      process.exit(0)
    }, (err: unknown) => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))

  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    app.log.error({ err }, 'could not listen')
    process.exit(1)
  }
}

await main()
