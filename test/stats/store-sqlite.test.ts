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
  const driver = store.connect()
  t.teardown(() => driver.close())
  t.same(await driver.all('PRAGMA journal_mode'), [{ journal_mode: 'wal' }])
})

t.test('sqlite: opens that overlap share one driver; close waits for an open under way', async (t) => {
  const path = join(dir, 'overlap', 'stats.db')
  const made: SqliteDriver[] = []
  const connect = () => {
    const driver = new SqliteDriver(path)
    made.push(driver)
    return driver
  }
  const store = new SqlStatsStore('sqlite', connect)
  await Promise.all([store.open(), store.open(), store.summary('all', Date.now())])
  t.equal(made.length, 1, 'one driver for three callers')
  const reopening = new SqlStatsStore('sqlite', connect)
  const opening = reopening.open()
  await reopening.close()
  await opening
  await t.rejects(made[1]!.all('SELECT 1'), 'the driver of the open that close waited for is closed too')
  await store.close()
})
