import pg from 'pg'
import type { SqlDriver, SqlSession, SqlValue, Statement } from './sql-driver.js'

const INT8 = 20
const NUMERIC = 1700
/** Any number, so every instance migrating at once agree on one lock. */
const MIGRATION_LOCK = 1_935_766_389

/**
 * This pool's own type parsers (the global ones stay untouched): counts and sums come back as numbers,
 * as SQLite gives them. Every figure stored fits a double exactly (ms, bytes, counts < 2^53).
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format as 'text')
  }) as typeof pg.types.getTypeParser
}

/**
 * PostgreSQL through a small `pg` pool: every instance of a cluster writes to it. Connection and
 * statement timeouts keep a database that hangs from holding a write (or a query) forever.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres'
  readonly #pool: pg.Pool

  constructor (connectionString: string) {
    this.#pool = new pg.Pool({
      connectionString,
      max: 4,
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 10_000,
      types
    })
    // An idle client that loses its connection emits 'error' on the pool (an uncaught exception without
    // this listener); the next query reports the outage.
    this.#pool.on('error', () => {})
  }

  greatest (a: string, b: string): string { return `greatest(${a}, ${b})` }

  async all<T> (sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.#pool.query(sql, params as SqlValue[])).rows as T[]
  }

  async run (sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.#pool.query(sql, params as SqlValue[])).rowCount ?? 0
  }

  async batch (statements: readonly Statement[]): Promise<void> {
    await this.#transaction(async (client) => {
      for (const s of statements) await client.query(s.sql, s.params as SqlValue[])
    })
  }

  async exclusive<T> (fn: (session: SqlSession) => Promise<T>): Promise<T> {
    return this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
      return fn({
        all: async <R>(sql: string, params: readonly SqlValue[] = []) => (await client.query(sql, params as SqlValue[])).rows as R[],
        run: async (sql: string, params: readonly SqlValue[] = []) => (await client.query(sql, params as SqlValue[])).rowCount ?? 0
      })
    })
  }

  async #transaction<T> (fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect()
    let broken = false
    // A connection that drops between two statements emits 'error' on the checked-out client, which
    // would be an uncaught exception (the server's crash) without a listener: the statement fails instead.
    const onError = () => { broken = true }
    client.on('error', onError)
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => { broken = true })
      throw err
    } finally {
      client.off('error', onError)
      client.release(broken)
    }
  }

  async close (): Promise<void> {
    await this.#pool.end()
  }
}
