import t from 'tap'
import { ChatLog, ChatRefused, MAX_MUTED, NETWORK_SHARE, type ChatLimits, type ChatSender } from '../../src/chat/chat-log.js'
import { SenderTags } from '../../src/chat/sender-tags.js'
import { TokenBucket, TokenBuckets } from '../../src/chat/token-bucket.js'
import { DomainError } from '../../src/errors.js'

const LIMITS: ChatLimits = { history: 200, perSecond: 1, burst: 5, sessionPerSecond: 5 }
const T0 = 1_700_000_000_000
const listener = (n: number, network = `n:${n}`): ChatSender => ({ identity: `l:${n}`, network, fromSharer: false })
const SHARER: ChatSender = { identity: 'ignored', network: 'ignored', fromSharer: true }
const say = (text: string, name = 'Ann') => ({ name, text })

/** The refusal `fn` throws: its reason, code and Retry-After. */
function refusal (fn: () => unknown) {
  try {
    fn()
  } catch (err) {
    if (err instanceof ChatRefused) return { reason: err.reason, code: err.code, retryAfter: err.retryAfterSeconds }
    throw err
  }
  return undefined
}

t.test('TokenBucket: a burst, then one per 1/rate; it refills with time, never past its capacity, never backwards', async (t) => {
  const b = new TokenBucket(1, 5, T0)
  for (let i = 0; i < 5; i++) {
    t.equal(b.waitMs(T0), 0)
    b.take(T0)
  }
  t.equal(b.waitMs(T0), 1000, 'empty: one token in a second')
  t.equal(b.waitMs(T0 + 400), 600)
  t.equal(b.waitMs(T0 + 1000), 0)
  t.equal(b.waitMs(T0 - 60_000), 0, 'a clock that steps back takes nothing away')
  t.equal(b.waitMs(T0 + 3_600_000), 0)
  for (let i = 0; i < 5; i++) b.take(T0 + 3_600_000)
  t.ok(b.waitMs(T0 + 3_600_000) > 0, 'an hour idle refills the burst, no more')
})

t.test('TokenBuckets: one bucket per key, the least recently used forgotten past maxKeys', async (t) => {
  const buckets = new TokenBuckets(1, 1, 2)
  buckets.of('a', T0).take(T0)
  buckets.of('b', T0).take(T0)
  t.ok(buckets.of('a', T0).waitMs(T0) > 0, 'a is the same bucket (and now the most recent)')
  buckets.of('c', T0)
  t.equal(buckets.size, 2)
  t.ok(buckets.of('a', T0).waitMs(T0) > 0, 'a was kept')
  t.equal(buckets.of('b', T0).waitMs(T0), 0, 'b was forgotten: it comes back full')
})

t.test('post cleans and stores; ids increase per log; the history keeps the newest', async (t) => {
  const log = new ChatLog({ ...LIMITS, history: 3, perSecond: 1000, burst: 1000, sessionPerSecond: 1000 })
  const first = log.post({ name: '  Ann\n', text: 'hi\u202E there ' }, listener(1), T0)
  t.same(first.message, { id: 1, name: 'Ann', text: 'hi there', sentAt: T0, fromSharer: false })
  t.equal(first.sender, 'l:1')
  for (let i = 2; i <= 5; i++) log.post(say(`m${i}`), listener(1), T0 + i)
  t.same(log.entries.map((e) => e.message.id), [3, 4, 5], 'the last three')
  t.equal(log.nextId, 6)
  const sharer = log.post(say('from me', 'DJ'), SHARER, T0 + 10)
  t.match(sharer, { message: { id: 6, fromSharer: true }, sender: 'sharer' })
})

t.test('invalid names and texts are refused before any budget is spent', async (t) => {
  const log = new ChatLog({ ...LIMITS, burst: 1 })
  t.match(refusal(() => log.post(say('x'.repeat(501)), listener(1), T0)), { reason: 'invalid', code: 'VALIDATION_ERROR' })
  t.match(refusal(() => log.post(say('\u202E\u0000 \n'), listener(1), T0)), { reason: 'invalid' }, 'empty once cleaned')
  t.match(refusal(() => log.post(say('ok', 'n'.repeat(33)), listener(1), T0)), { reason: 'invalid' })
  t.match(refusal(() => log.post(say('ok', '\u200F'), listener(1), T0)), { reason: 'invalid' }, 'a name of nothing but a mark')
  t.equal(log.post(say('é'.normalize('NFD').repeat(500), 'n'.repeat(32)), listener(1), T0).message.text.length, 500,
    '500 characters after NFC, a 32-character name: accepted, and the one budgeted message')
  t.match(refusal(() => log.post(say('again'), listener(1), T0)), { reason: 'rate-limited' })
})

t.test('per listener: a burst of 5, then about one a second, with Retry-After; others are not held back', async (t) => {
  const log = new ChatLog(LIMITS)
  for (let i = 0; i < 5; i++) log.post(say(`burst ${i}`), listener(1), T0)
  t.same(refusal(() => log.post(say('sixth'), listener(1), T0)), { reason: 'rate-limited', code: 'RATE_LIMITED', retryAfter: 1 })
  t.ok(log.post(say('someone else'), listener(2), T0), 'another listener still talks')
  t.ok(log.post(say('a second later'), listener(1), T0 + 1000), 'one more a second later')
  t.match(refusal(() => log.post(say('too soon'), listener(1), T0 + 1500)), { reason: 'rate-limited' })
  t.equal(log.entries.length, 7, 'refused messages are not stored')
})

t.test('per network: identities behind one address share a budget of three listeners', async (t) => {
  const log = new ChatLog({ ...LIMITS, sessionPerSecond: 1000 })
  let sent = 0
  for (let i = 0; ; i++) {
    // A fresh identity per message (a client rotating X-Client-Id), always from one address.
    if (refusal(() => log.post(say(`m${i}`), listener(i, 'n:same'), T0)) !== undefined) break
    sent++
  }
  t.equal(sent, LIMITS.burst * NETWORK_SHARE)
  t.ok(log.post(say('elsewhere'), listener(99), T0), 'another address is not affected')
})

t.test('per session: all listeners together are capped (burst of four seconds), the sharer never', async (t) => {
  const log = new ChatLog(LIMITS)
  let sent = 0
  for (let i = 0; ; i++) {
    const r = refusal(() => log.post(say(`m${i}`), listener(i), T0))
    if (r !== undefined) {
      t.same(r, { reason: 'session-cap', code: 'RATE_LIMITED', retryAfter: 1 })
      break
    }
    sent++
  }
  t.equal(sent, 20, '4 s x 5/s')
  t.ok(log.post(say('the sharer still talks'), SHARER, T0))
  for (let i = 1; i < 5; i++) log.post(say(`sharer ${i}`), SHARER, T0)
  t.match(refusal(() => log.post(say('but has a budget of its own'), SHARER, T0)), { reason: 'rate-limited' })
})

t.test('page: newest first page for -1; after an id, in order, with more', async (t) => {
  const log = new ChatLog({ ...LIMITS, perSecond: 1000, burst: 1000, sessionPerSecond: 1000 })
  for (let i = 0; i < 7; i++) log.post(say(`m${i}`), listener(1), T0)
  const ids = (p: { messages: Array<{ id: number }> }) => p.messages.map((m) => m.id)
  t.same(ids(log.page(-1, 3)), [5, 6, 7])
  t.equal(log.page(-1, 3).more, false)
  t.same(log.page(0, 3), { messages: log.entries.slice(0, 3).map((e) => e.message), more: true })
  t.same(ids(log.page(3, 3)), [4, 5, 6])
  t.same(log.page(4, 3), { messages: log.entries.slice(4).map((e) => e.message), more: false })
  t.same(log.page(7, 3), { messages: [], more: false })
  log.delete(5)
  t.same(ids(log.page(3, 3)), [4, 6, 7], 'a deleted message leaves a gap in the ids')
})

t.test('delete and mute: the muted identity\'s messages go and its next ones are refused', async (t) => {
  const log = new ChatLog({ ...LIMITS, perSecond: 1000, burst: 1000, sessionPerSecond: 1000 })
  log.post(say('a1'), listener(1), T0)
  log.post(say('b1'), listener(2), T0)
  log.post(say('a2'), listener(1), T0)
  log.post(say('me'), SHARER, T0)
  t.equal(log.delete(2).message.text, 'b1')
  t.throws(() => log.delete(2), new DomainError('MESSAGE_NOT_FOUND', 'No chat message with this id in the session\'s history'))
  t.same(log.mute(3).map((e) => e.message.id), [1, 3], 'every message of the sender of 3')
  t.same(log.entries.map((e) => e.message.text), ['me'])
  t.same(log.muted, ['l:1'])
  t.same(refusal(() => log.post(say('let me back'), listener(1), T0)), { reason: 'muted', code: 'CHAT_MUTED', retryAfter: undefined })
  t.ok(log.post(say('still fine'), listener(2), T0), 'others still talk')
  t.throws(() => log.mute(4), { code: 'VALIDATION_ERROR' }, 'the sharer cannot be muted')
  t.throws(() => log.mute(99), { code: 'MESSAGE_NOT_FOUND' })
})

t.test('mutes are bounded: the oldest is forgotten first', async (t) => {
  const log = new ChatLog({ ...LIMITS, history: 5000, perSecond: 1e6, burst: 1e6, sessionPerSecond: 1e6 })
  for (let i = 0; i <= MAX_MUTED; i++) {
    const { message } = log.post(say('x'), listener(i), T0)
    log.mute(message.id)
  }
  t.equal(log.muted.length, MAX_MUTED)
  t.notOk(log.muted.includes('l:0'))
  t.ok(log.post(say('forgotten'), listener(0), T0))
})

t.test('restore: history, mutes and the next id; ids never go back, even when the newest were deleted', async (t) => {
  const log = new ChatLog({ ...LIMITS, history: 3 })
  const entries = [1, 2, 5, 4].map((id) => ({ message: { id, name: 'n', text: `t${id}`, sentAt: T0, fromSharer: false }, sender: 'l:1' }))
  log.restore({ nextId: 9, muted: ['l:7'], entries })
  t.same(log.entries.map((e) => e.message.id), [2, 4, 5], 'sorted, and cut to the history')
  t.equal(log.post(say('next'), listener(1), T0).message.id, 9)
  t.match(refusal(() => log.post(say('muted'), listener(7), T0)), { reason: 'muted' })
  const lost = new ChatLog(LIMITS)
  lost.restore({ nextId: 0, muted: [], entries })
  t.equal(lost.nextId, 6, 'without a next id: after the highest one held')
  lost.clear()
  t.same([lost.entries.length, lost.muted.length], [0, 0])
})

t.test('SenderTags: opaque, per session and secret; the sharer is one identity', async (t) => {
  const tags = new SenderTags('a secret of sixteen+ chars')
  const a = tags.of('123456', 'a:key', '10.0.0.1', false)
  t.match(a, { identity: /^l:[A-Za-z0-9_-]{22}$/, network: /^n:[A-Za-z0-9_-]{22}$/, fromSharer: false })
  t.same(tags.of('123456', 'a:key', '10.0.0.1', false), a, 'stable')
  t.not(tags.of('654321', 'a:key', '10.0.0.1', false).identity, a.identity, 'another session: unlinkable')
  t.not(new SenderTags('another secret, sixteen+').of('123456', 'a:key', '10.0.0.1', false).identity, a.identity)
  t.equal(tags.of('123456', 'c:other', '10.0.0.1', false).network, a.network, 'same address, same network tag')
  t.notMatch(JSON.stringify(a), /10\.0\.0\.1|a:key/, 'neither the address nor the key')
  t.same(tags.of('123456', 'a:key', '10.0.0.1', true), { identity: 'sharer', network: 'sharer', fromSharer: true })
})
