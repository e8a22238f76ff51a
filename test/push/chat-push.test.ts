import t from 'tap'
import { build } from '../helper.js'
import { AUTH, listen, openStream, openWs, SseReader, startOver, until } from './push-helper.js'

/** A chat POST over real HTTP: by listen key, as `client` (X-Client-Id), optionally as the sharer. */
async function say (base: string, key: string, client: string, text: string, sharerKey?: string) {
  const res = await fetch(`${base}/api/share/123456/chat?key=${key}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-client-id': client, ...(sharerKey === undefined ? {} : { 'x-sharer-key': sharerKey }) },
    body: JSON.stringify({ name: client, text })
  })
  if (res.status !== 200) throw new Error(`chat POST: ${res.status} ${await res.text()}`)
  return (await res.json() as { message: { id: number } }).message
}

async function moderate (base: string, sharerKey: string, method: 'DELETE' | 'POST', path: string, body?: unknown) {
  const res = await fetch(`${base}/api/share/123456/chat${path}`, {
    method,
    headers: { ...AUTH, 'x-sharer-key': sharerKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
}

t.test('chat, deletions and mutes reach WebSocket and SSE listeners at once, as events with ids', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  const { listenKey, sharerKey } = await startOver(base)
  const ws = await openWs(`${base}/api/share/123456/ws?key=${listenKey}`, {})
  t.equal(ws.status, 101)
  t.teardown(() => ws.ws.terminate())
  const sse = await openStream(`${base}/api/share/123456/events?key=${listenKey}`, {})
  t.teardown(() => sse.req.destroy())
  const events = new SseReader(sse.res)
  await until(() => app.push.hub.listenerCount('123456') === 2, 'both listeners attached')

  const ann1 = await say(base, listenKey, 'ann', '<b>hi</b> \u202Eall')
  await say(base, listenKey, 'bob', 'hello')
  const ann2 = await say(base, listenKey, 'ann', 'again')
  const dj = await say(base, listenKey, 'dj', 'welcome', sharerKey)
  await moderate(base, sharerKey, 'DELETE', `/${dj.id}`)
  await moderate(base, sharerKey, 'POST', '/mute', { messageId: ann2.id })

  const chatTypes = new Set(['chat', 'chat-deleted', 'chat-muted'])
  const wsChat = () => ws.json().filter((e) => chatTypes.has(e.type as string))
  await until(() => wsChat().length === 6, 'six chat events over the WebSocket')
  await events.until(() => events.events.filter((e) => chatTypes.has(e.event ?? '')).length === 6)
  const sseChat = events.events.filter((e) => chatTypes.has(e.event ?? ''))

  t.same(wsChat().map((e) => e.type), ['chat', 'chat', 'chat', 'chat', 'chat-deleted', 'chat-muted'])
  t.match(wsChat()[0], { type: 'chat', id: Number, message: { id: ann1.id, name: 'ann', text: '<b>hi</b> all', sentAt: Number, fromSharer: false } },
    'the message as stored: cleaned, and text (markup is the page\'s to render as text)')
  t.same(Object.keys((wsChat()[0]!.message) as object), ['id', 'name', 'text', 'sentAt', 'fromSharer'], 'no sender, no address')
  t.match(wsChat()[3], { message: { fromSharer: true, name: 'dj' } })
  t.match(wsChat()[4], { type: 'chat-deleted', messageIds: [dj.id] })
  t.match(wsChat()[5], { type: 'chat-muted', messageIds: [ann1.id, ann2.id] }, 'every message of the muted listener')
  t.same(sseChat.map((e) => e.data), wsChat(), 'SSE carries the same events, byte for byte the same JSON')
  t.same(sseChat.map((e) => Number(e.id)), wsChat().map((e) => e.id), 'with the event ids as SSE ids')
  const ids = wsChat().map((e) => e.id as number)
  t.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'increasing')
})

t.test('SSE Last-Event-ID resume replays the chat events missed while away', async (t) => {
  const app = await build(t)
  const base = await listen(app)
  const { listenKey } = await startOver(base)
  const first = await openStream(`${base}/api/share/123456/events?key=${listenKey}`, {})
  const a = new SseReader(first.res)
  await say(base, listenKey, 'ann', 'before')
  await a.until(() => a.events.some((e) => e.event === 'chat'))
  const lastId = a.events.at(-1)!.id!
  first.req.destroy()
  await until(() => app.push.hub.listenerCount('123456') === 0, 'the first stream detached')

  await say(base, listenKey, 'ann', 'missed 1')
  await say(base, listenKey, 'bob', 'missed 2')
  const again = await openStream(`${base}/api/share/123456/events?key=${listenKey}`, { 'last-event-id': lastId })
  t.teardown(() => again.req.destroy())
  const b = new SseReader(again.res)
  await b.until(() => b.events.filter((e) => e.event === 'chat').length === 2)
  t.same(b.events.filter((e) => e.event === 'chat').map((e) => (e.data.message as { text: string }).text), ['missed 1', 'missed 2'])
})
