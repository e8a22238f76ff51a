import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStatsStore } from '../../src/stats/stats-service.js'

t.test('createStatsStore: SQLite without a database URL, opened on first use', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'music-share-stats-service-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const store = await createStatsStore({ sqlitePath: join(dir, 'stats.db'), databaseUrl: undefined })
  t.teardown(() => store.close())
  t.equal(store.kind, 'sqlite')
  t.match(await store.summary('all', Date.now()), { sessions: 0 })
})

t.test('createStatsStore: a driver that cannot load fails here (the start), not as a database that is down', async (t) => {
  const broken = { get SqliteDriver (): never { throw new Error('the native module did not load') } }
  const { createStatsStore: create } = await t.mockImport<typeof import('../../src/stats/stats-service.js')>(
    '../../src/stats/stats-service.js', { '../../src/stats/sqlite-driver.js': broken })
  await t.rejects(create({ sqlitePath: join(tmpdir(), 'never.db'), databaseUrl: undefined }), /did not load/)
})
