import t from 'tap'
import { SessionRegistry } from '../../src/session/session-registry.js'
import { OpusHub, type OpusListener } from '../../src/opus/opus-hub.js'
import type { EncoderClient, EncoderPool } from '../../src/opus/encoder-pool.js'
import type { OpusChunk } from '../../src/opus/opus-chunk.js'
import { REGISTRY_OPTIONS, RecordingLog, upload } from '../fixtures/audio.js'

/** Stands in for the encoder thread: records what it is asked and answers when the test says so. */
class FakePool {
  readonly clients = new Map<number, EncoderClient>()
  readonly fed: Array<{ epoch: number, sequenceNumber: number }> = []
  readonly settings: Array<{ bitrateKbps: number }> = []
  readonly stopped: number[] = []
  readonly bitrates = new Map<number, number>()
  #next = 1
  start (settings: { bitrateKbps: number }, client: EncoderClient): number {
    const epoch = this.#next++
    this.settings.push(settings)
    this.clients.set(epoch, client)
    this.bitrates.set(epoch, settings.bitrateKbps)
    client.opened(312, 2)
    return epoch
  }

  feed (epoch: number, chunk: { sequenceNumber: number }): void { this.fed.push({ epoch, sequenceNumber: chunk.sequenceNumber }) }
  stop (epoch: number): void { this.stopped.push(epoch); this.clients.delete(epoch) }
  /** Answers the chunks fed so far with one 20 ms packet each. */
  encodeFed (): void {
    for (const { epoch, sequenceNumber } of this.fed.splice(0)) {
      this.clients.get(epoch)?.encoded({ sequenceNumber, timestamp: sequenceNumber, receivedAt: 1000 + sequenceNumber, startGranule: sequenceNumber * 960, packets: [new Uint8Array([sequenceNumber])] }, 0.001)
    }
  }
}

class Listener implements OpusListener {
  readonly got: number[] = []
  failure: string | undefined
  constructor (readonly sessionId: string, readonly background = false) {}
  opus (chunk: OpusChunk): void { this.got.push(chunk.sequenceNumber) }
  opusFailed (reason: string): void { this.failure = reason }
}

function setup () {
  const registry = new SessionRegistry({ ...REGISTRY_OPTIONS }, new RecordingLog())
  const pool = new FakePool()
  const hub = new OpusHub(registry, pool as unknown as EncoderPool, { tiersKbps: [32, 64, 128, 192], defaultKbps: 128, complexity: 7, pollLeaseMs: 15_000 }, new RecordingLog())
  return { registry, pool, hub }
}

t.test('an encoder runs only while something consumes the session\'s Opus; it starts from the join burst', async (t) => {
  const { registry, pool, hub } = setup()
  const session = registry.start('123456', 0)
  for (let i = 0; i < 3; i++) registry.receiveAudio('123456', upload(i), 1 << 20, 1000 + i)
  t.equal(pool.fed.length, 0, 'no listener: nothing is encoded')
  t.equal(hub.encoders, 0)

  const a = new Listener('123456')
  hub.attach(session, a)
  t.equal(hub.encoders, 1)
  t.same(pool.fed.map((f) => f.sequenceNumber), [0, 1, 2], 'the buffered join burst goes to the new encoder')
  pool.encodeFed()
  t.same(a.got, [0, 1, 2])

  registry.receiveAudio('123456', upload(3), 1 << 20, 2000)
  pool.encodeFed()
  t.same(a.got, [0, 1, 2, 3], 'new chunks follow')

  const b = new Listener('123456')
  hub.attach(session, b)
  t.ok(b.got.length > 0 && b.got.at(-1) === 3, 'a second listener gets the join burst from what is already encoded')
  t.equal(pool.fed.length, 0, 'and costs no encode')

  hub.detach(a, 3000)
  t.equal(hub.encoders, 1, 'one listener left')
  hub.detach(b, 3000)
  t.equal(hub.encoders, 0, 'the last one gone: the encoder stops')
  t.same(pool.stopped, [1])
  registry.receiveAudio('123456', upload(4), 1 << 20, 3000)
  t.equal(pool.fed.length, 0, 'and nothing more is sent to it')
})

t.test('a poll keeps the encoder on for its lease; the session ending stops it', async (t) => {
  const { registry, pool, hub } = setup()
  const session = registry.start('123456', 0)
  registry.receiveAudio('123456', upload(0), 1 << 20, 1000)
  t.same(hub.poll(session, -1, 1000), [], 'the first poll starts the encoder: nothing encoded yet')
  pool.encodeFed()
  t.same(hub.poll(session, -1, 1100).map((c) => c.sequenceNumber), [0])
  hub.sweep(1100 + 14_000)
  t.equal(hub.encoders, 1, 'within the lease')
  hub.sweep(1100 + 15_001)
  t.equal(hub.encoders, 0, 'the lease ran out')

  const listener = new Listener('123456')
  hub.attach(session, listener)
  registry.stop('123456', 2000)
  t.equal(hub.encoders, 0, 'an ended session has no encoder')
})

t.test('an encoder failure ends that session\'s Opus only: its listeners are told, the other session and PCM go on', async (t) => {
  const { registry, pool, hub } = setup()
  const one = registry.start('111111', 0)
  const two = registry.start('222222', 0)
  const a = new Listener('111111')
  const b = new Listener('222222')
  hub.attach(one, a)
  hub.attach(two, b)
  pool.clients.get(1)!.failed('libopus said no')
  t.equal(a.failure, 'libopus said no')
  t.equal(b.failure, undefined)
  t.equal(hub.encoders, 1)
  t.equal(hub.stats.encoderFailures, 1)
  registry.receiveAudio('111111', upload(0), 1 << 20, 1000)
  registry.receiveAudio('222222', upload(0), 1 << 20, 1000)
  pool.encodeFed()
  t.same(b.got, [0], 'the other session is still encoded')
  t.same(a.got, [], 'the failed one is not')
  t.ok(registry.pollAudioJson('111111', -1, 'pcm-poller', 1100), 'PCM of the failed session is still served')
})

t.test('streams are keyed by session and bitrate: each bitrate its own encoder, started and stopped by its own listeners', async (t) => {
  const { registry, pool, hub } = setup()
  const session = registry.start('123456', 0)
  registry.receiveAudio('123456', upload(0), 1 << 20, 1000)
  const live = new Listener('123456')
  const recording = new Listener('123456', true)
  hub.attach(session, live, 0)
  hub.attach(session, recording, 0, 64)
  t.equal(hub.encoders, 2, 'one encoder per bitrate')
  t.same([...pool.bitrates.values()], [128, 64], 'the default stream at OPUS_BITRATE_KBPS, the other at the bitrate asked for')
  pool.clients.get(1)!.opened(312, 2)
  pool.clients.get(2)!.opened(120, 1)
  t.same(hub.streamShape('123456'), { channels: 2, preSkip: 312 })
  t.same(hub.streamShape('123456', 64), { channels: 1, preSkip: 120 }, 'each stream its own shape')
  t.equal(hub.streamShape('123456', 96), undefined, 'no stream at 96')
  t.equal(hub.listenerCount(), 1, 'a background listener (a recording) is not counted')

  const woken: Array<[string, number]> = []
  hub.events.on('encoded', (id: string, bitrate: number) => { woken.push([id, bitrate]) })
  registry.receiveAudio('123456', upload(1), 1 << 20, 1500)
  t.same(pool.fed.map((f) => [pool.bitrates.get(f.epoch), f.sequenceNumber]), [[128, 0], [64, 0], [128, 1], [64, 1]],
    'each chunk goes to both encoders (the join burst first)')
  pool.encodeFed()
  t.same(live.got, [0, 1])
  t.same(recording.got, [0, 1], 'each listener hears its own stream only')
  t.same(woken, [['123456', 128], ['123456', 64], ['123456', 128], ['123456', 64]], '`encoded` names the bitrate')
  t.same(hub.poll(session, 0, 2000).map((c) => c.sequenceNumber), [1], 'a poll reads the default stream')

  hub.detach(live, 20_000)
  t.equal(hub.encoders, 1, 'the default stream stopped with its last listener (its poll lease over)')
  t.same(pool.stopped, [1])
  registry.receiveAudio('123456', upload(2), 1 << 20, 21_000)
  t.same(pool.fed.map((f) => pool.bitrates.get(f.epoch)), [64], 'the other bitrate goes on')
  registry.stop('123456', 22_000)
  t.equal(hub.encoders, 0, 'the session ending stops every stream of it')
  t.same(pool.stopped, [1, 2])
})

t.test('a failure of one bitrate\'s encoder lets go of that stream\'s listeners only', async (t) => {
  const { registry, pool, hub } = setup()
  const session = registry.start('123456', 0)
  const live = new Listener('123456')
  const recording = new Listener('123456', true)
  hub.attach(session, live)
  hub.attach(session, recording, -1, 64)
  pool.clients.get(2)!.failed('no')
  t.equal(recording.failure, 'no')
  t.equal(live.failure, undefined)
  t.equal(hub.encoders, 1)
  hub.detach(recording, 0)
  t.equal(hub.encoders, 1, 'detaching from a failed stream touches no other')
})
