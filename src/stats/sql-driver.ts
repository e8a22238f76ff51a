/**
 * The little a statistics store needs from a database, so one set of SQL serves SQLite and PostgreSQL.
 * SQL is written once with PostgreSQL's `$1` placeholders (SQLite reads them as `?1`) and only standard
 * syntax both understand (`INSERT … ON CONFLICT … DO UPDATE`, partial indexes, `excluded.`); the one
 * function that differs is the two-argument maximum (`greatest`).
 */

export type SqlValue = string | number | null

export interface Statement {
  readonly sql: string
  readonly params: readonly SqlValue[]
}

/** Queries and statements inside one transaction (migrations). */
export interface SqlSession {
  all<T> (sql: string, params?: readonly SqlValue[]): Promise<T[]>
  run (sql: string, params?: readonly SqlValue[]): Promise<number>
}

export interface SqlDriver extends SqlSession {
  readonly dialect: 'sqlite' | 'postgres'
  /** `greatest(a, b)` in this dialect. */
  greatest (a: string, b: string): string
  /** Runs the statements in one transaction, all or none. */
  batch (statements: readonly Statement[]): Promise<void>
  /**
   * Runs `fn` in a transaction that no other process runs at the same time (schema migrations: several
   * instances may start at once against one PostgreSQL).
   */
  exclusive<T> (fn: (session: SqlSession) => Promise<T>): Promise<T>
  close (): Promise<void>
}
