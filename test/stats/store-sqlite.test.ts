import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqlStatsStore } from '../../src/stats/sql-store.js'
import { SqliteDriver } from '../../src/stats/sqlite-driver.js'
import { storeSuite } from './store-suite.js'

const dir = mkdtempSync(join(tmpdir(), 'music-share-stats-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/** One database file per test case (in a folder that does not exist yet: the store creates it). */
const files = new WeakMap<Test, string>()
let n = 0
async function makeStore (t: Test): Promise<SqlStatsStore> {
  let file = files.get(t)
  if (file === undefined) {
    file = join(dir, `case-${++n}`, 'stats.db')
    files.set(t, file)
  }
  const path = file
  const store = new SqlStatsStore('sqlite', () => new SqliteDriver(path))
  t.teardown(() => store.close())
  return store
}

storeSuite(t, 'sqlite', makeStore)

t.test('sqlite: the file is in WAL mode', async (t) => {
  const store = await makeStore(t)
  await store.open()
  const driver = await store.connect()
  t.teardown(() => driver.close())
  t.same(await driver.all('PRAGMA journal_mode'), [{ journal_mode: 'wal' }])
})
