import t from 'tap'
import { build, clientMetadata } from '../helper.js'
import { AUTH, listen, openStream, postMetadata, SseReader, startOver } from './push-helper.js'

t.test('SSE: metadata and status events with ids; a reconnect with Last-Event-ID misses no metadata event', async (t) => {
  const app = await build(t, { SSE_HEARTBEAT_SECONDS: '0.05', PUSH_EVENT_HISTORY: '16' })
  const base = await listen(app)
  await startOver(base)
  await postMetadata(base, clientMetadata({ title: 'Song 0' }))
  const first = await openStream(`${base}/api/share/123456/events`)
  t.equal(first.res.statusCode, 200)
  t.match(first.res.headers['content-type'], /^text\/event-stream/)
  t.equal(first.res.headers['cache-control'], 'no-store')
  const a = new SseReader(first.res)
  await a.until(() => a.events.some((e) => e.event === 'status'))
  t.match(a.events[0], { event: 'metadata', data: { type: 'metadata', title: 'Song 0' } }, 'current metadata first')
  await postMetadata(base, clientMetadata({ title: 'Song 1' }))
  await a.until(() => a.events.some((e) => e.data.title === 'Song 1'))
  await a.until(() => a.comments >= 2)
  t.pass('comment heartbeats arrive')
  const lastId = a.events.at(-1)!.id!
  first.req.destroy()

  // Missed while disconnected: two songs and the listener count dropping to 0 then back.
  await postMetadata(base, clientMetadata({ title: 'Song 2' }))
  await postMetadata(base, clientMetadata({ title: 'Song 2' })) // a repeat is not a new event
  await postMetadata(base, clientMetadata({ title: 'Song 3' }))
  const again = await openStream(`${base}/api/share/123456/events`, { ...AUTH, 'last-event-id': lastId })
  const b = new SseReader(again.res)
  const bEnded = new Promise((resolve) => again.res.on('end', resolve))
  await b.until(() => b.events.some((e) => e.data.title === 'Song 3') && b.events.some((e) => e.event === 'status'))
  t.same(b.events.filter((e) => e.event === 'metadata').map((e) => e.data.title), ['Song 2', 'Song 3'],
    'exactly the metadata events after Last-Event-ID')
  t.ok(b.events.every((e) => Number(e.id) > Number(lastId)))

  // An id the history no longer holds (or never gave out) starts from the current metadata instead.
  const unknown = await openStream(`${base}/api/share/123456/events`, { ...AUTH, 'last-event-id': '99999' })
  const c = new SseReader(unknown.res)
  await c.until(() => c.events.some((e) => e.event === 'status'))
  t.match(c.events[0], { event: 'metadata', data: { title: 'Song 3' } })

  await fetch(`${base}/api/share/123456/stop`, { method: 'POST', headers: AUTH })
  await b.until(() => b.events.some((e) => e.event === 'ended'))
  t.match(b.events.at(-1), { event: 'ended', data: { reason: 'stopped' } })
  await bEnded
  t.pass('the stream ends after the ended event')
  unknown.req.destroy()
})

t.test('SSE streams end on shutdown; an ended session is a 404', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  await startOver(base)
  const open = await openStream(`${base}/api/share/123456/events`)
  const ended = new Promise((resolve) => open.res.on('end', resolve))
  open.res.resume()
  await app.close()
  await ended
  t.pass('closed without waiting on the stream')

  const app2 = await build(t)
  const base2 = await listen(app2)
  await startOver(base2)
  await fetch(`${base2}/api/share/123456/stop`, { method: 'POST', headers: AUTH })
  const res = await fetch(`${base2}/api/share/123456/events`, { headers: AUTH })
  t.equal(res.status, 404)
  t.match(await res.json(), { code: 'SESSION_ENDED' })
})
