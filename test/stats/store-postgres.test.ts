import t, { type Test } from 'tap'
import { SqlStatsStore } from '../../src/stats/sql-store.js'
import { PostgresDriver } from '../../src/stats/postgres-driver.js'
import { PrivatePostgres, postgresBinary } from '../postgres-server.js'
import { storeSuite } from './store-suite.js'

t.test('postgres', { skip: postgresBinary.skip }, async (t) => {
  const server = await PrivatePostgres.start(t)
  /** One database per test case, so cases do not see each other's rows. */
  const databases = new WeakMap<Test, Promise<string>>()
  let n = 0
  const makeStore = async (t: Test): Promise<SqlStatsStore> => {
    let url = databases.get(t)
    if (url === undefined) {
      url = server.createDatabase(`case_${++n}`)
      databases.set(t, url)
    }
    const connection = await url
    const store = new SqlStatsStore('postgres', () => new PostgresDriver(connection))
    t.teardown(() => store.close())
    return store
  }
  storeSuite(t, 'postgres', makeStore)
})
