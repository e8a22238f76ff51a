import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { SqlDriver, SqlSession, SqlValue, Statement } from './sql-driver.js'

/** `$1` → `?1`: SQLite's numbered parameter, so the SQL is written once for both databases. */
function toSqlite (sql: string): string {
  return sql.replace(/\$(\d+)/g, '?$1')
}

/** Numbered parameters bind from an object keyed by their numbers. */
function bind (params: readonly SqlValue[]): Record<number, SqlValue> {
  const named: Record<number, SqlValue> = {}
  params.forEach((value, i) => { named[i + 1] = value })
  return named
}

/** Runs a statement; answers the rows it changed (or returned, for one that returns rows). */
function execute (statement: Database.Statement, params: readonly SqlValue[]): number {
  return statement.reader ? statement.all(bind(params)).length : statement.run(bind(params)).changes
}

/**
 * SQLite through better-sqlite3: a file (its folder created when missing) in WAL mode, so readers
 * never wait for the writer and a crash loses no committed transaction. better-sqlite3 is synchronous:
 * a call returns when the work is done, so batches are kept small and queries are built to be fast.
 */
export class SqliteDriver implements SqlDriver {
  /**
   * Exclusive sections per file in this process, one after the other: a second connection's BEGIN
   * IMMEDIATE would otherwise wait (synchronously, up to busy_timeout) for a first one that cannot
   * finish while the event loop is blocked. Other processes are kept apart by SQLite's own lock.
   */
  static readonly #exclusive = new Map<string, Promise<unknown>>()

  readonly dialect = 'sqlite'
  readonly #db: Database.Database
  readonly #statements = new Map<string, Database.Statement>()

  constructor (readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.#db = new Database(path)
    this.#db.pragma('journal_mode = WAL')
    // WAL with NORMAL: a committed transaction survives the process being killed (not a power cut).
    this.#db.pragma('synchronous = NORMAL')
    // Another process (a second server on the same file, a backup) may hold the write lock briefly.
    this.#db.pragma('busy_timeout = 2000')
  }

  greatest (a: string, b: string): string { return `max(${a}, ${b})` }

  #prepare (sql: string): Database.Statement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#db.prepare(toSqlite(sql))
      this.#statements.set(sql, statement)
    }
    return statement
  }

  #all<T> (sql: string, params: readonly SqlValue[]): T[] {
    return this.#prepare(sql).all(bind(params)) as T[]
  }

  #run (sql: string, params: readonly SqlValue[]): number {
    return execute(this.#prepare(sql), params)
  }

  async all<T> (sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#all<T>(sql, params)
  }

  async run (sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#run(sql, params)
  }

  async batch (statements: readonly Statement[]): Promise<void> {
    this.#db.transaction(() => {
      for (const s of statements) this.#run(s.sql, s.params)
    }).immediate()
  }

  exclusive<T> (fn: (session: SqlSession) => Promise<T>): Promise<T> {
    const queue = SqliteDriver.#exclusive
    const run = (queue.get(this.path) ?? Promise.resolve()).then(() => this.#exclusiveNow(fn))
    const settled = run.catch(() => {})
    queue.set(this.path, settled)
    void settled.then(() => { if (queue.get(this.path) === settled) queue.delete(this.path) })
    return run
  }

  async #exclusiveNow<T> (fn: (session: SqlSession) => Promise<T>): Promise<T> {
    // Schema statements are not cached: each runs once.
    const session: SqlSession = {
      all: async <R>(sql: string, params: readonly SqlValue[] = []) => this.#db.prepare(toSqlite(sql)).all(bind(params)) as R[],
      run: async (sql: string, params: readonly SqlValue[] = []) => execute(this.#db.prepare(toSqlite(sql)), params)
    }
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      const result = await fn(session)
      this.#db.exec('COMMIT')
      return result
    } catch (err) {
      this.#db.exec('ROLLBACK')
      throw err
    }
  }

  async close (): Promise<void> {
    this.#statements.clear()
    if (this.#db.open) this.#db.close()
  }
}
