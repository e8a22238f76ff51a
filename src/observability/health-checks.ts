/** What one component says about itself: `degraded` still serves (HTTP 200), only less well. */
export interface ComponentHealth {
  readonly status: 'ok' | 'degraded'
  /** Why it is degraded, for operators; never a secret. */
  readonly reason?: string | undefined
  /** Numbers worth graphing (e.g. up = 0/1, outages so far). */
  readonly metrics?: Readonly<Record<string, number>> | undefined
}

export interface HealthReport {
  readonly status: 'healthy' | 'degraded'
  readonly reason?: string
  readonly checks?: Readonly<Record<string, ComponentHealth>>
}

/**
 * Components that can be degraded register a check here; GET /health reports them. With no checks
 * registered the report is plain `healthy`, as before.
 */
export class HealthChecks {
  #checks = new Map<string, () => ComponentHealth>()

  add (name: string, check: () => ComponentHealth): void {
    if (this.#checks.has(name)) throw new Error(`health check "${name}" is already registered`)
    this.#checks.set(name, check)
  }

  report (): HealthReport {
    if (this.#checks.size === 0) return { status: 'healthy' }
    const checks: Record<string, ComponentHealth> = {}
    const reasons: string[] = []
    for (const [name, check] of this.#checks) {
      const result = check()
      checks[name] = result
      if (result.status === 'degraded') reasons.push(`${name}: ${result.reason ?? 'degraded'}`)
    }
    return reasons.length === 0
      ? { status: 'healthy', checks }
      : { status: 'degraded', reason: reasons.join('; '), checks }
  }
}
