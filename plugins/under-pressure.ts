import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { FastifyPluginAsync } from 'fastify'

/** How often event-loop delay and heap are sampled. */
const SAMPLE_INTERVAL_MS = 250
const RETRY_AFTER_SECONDS = 5

/**
 * Sheds load before latency collapses for everyone: while the event loop lags or the heap is past its
 * limit, requests get 503 OVERLOADED with Retry-After (formatted by the error handler). /health is
 * answered as usual, so operators can still see the server.
 */
const pressure: FastifyPluginAsync = async (app) => {
  const { maxEventLoopDelayMs, maxHeapUsedBytes } = app.config.limits
  if (maxEventLoopDelayMs === 0 && maxHeapUsedBytes === 0) return
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxHeapUsedBytes,
    sampleInterval: SAMPLE_INTERVAL_MS,
    retryAfter: RETRY_AFTER_SECONDS
  })
}

export default fp(pressure, { name: 'under-pressure', fastify: '5.x', dependencies: ['config'] })
