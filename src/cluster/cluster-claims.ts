import type { Redis, Result } from 'ioredis'
import type { SharerBinding } from '../session/sharer-binding.js'

/**
 * Session ownership in Redis, for a cluster of instances sharing one Redis (see README "Scaling out").
 *
 *   session:{id}:claim       string  "{epoch}:{instanceId}|{startTime}|{sharerKeyHash}|{sharerAddress}": who owns the
 *                                    session since which takeover, and how it started (the start record)
 *   cluster:epoch            integer incremented by every claim and takeover: epochs are never reused
 *   instance:{id}:heartbeat  string  JSON {startedAt, sessions}; TTL HEARTBEAT_TTL_MS, refreshed every second
 *
 * Every snapshot write of a session goes through `msFenced`, which runs it only while the claim still holds
 * the value the writer was given: an instance whose session was taken over (a new epoch) can no longer write
 * it, learns so from the script's answer, and drops the session.
 *
 * The start record lives in the claim itself, so it lives exactly as long as the claim: whatever happens to
 * the session's snapshot (a start killed before any flush under an older version, a key evicted under
 * memory pressure), an instance that takes a claimed session over can always bring it back with its id, its
 * start time and who may write to it (the key's hash, never the key), rather than answer 404 or open it to
 * anyone. Takeovers carry the record over to the new claim value.
 */
export const EPOCH_KEY = 'cluster:epoch'
export const heartbeatKey = (instanceId: string) => `instance:${instanceId}:heartbeat`
export const HEARTBEAT_KEY = /^instance:(.+):heartbeat$/
/** How often an instance refreshes its heartbeat and checks the claims of the sessions it holds. */
export const HEARTBEAT_INTERVAL_MS = 1_000
/** An instance whose heartbeat is older than this is gone: its sessions are orphans. */
export const HEARTBEAT_TTL_MS = 3_000

/** A claim value's owner part ("{epoch}:{instanceId}"), without its start record. */
function ownerPart (value: string): string {
  const bar = value.indexOf('|')
  return bar < 0 ? value : value.slice(0, bar)
}

/** The owner named by a claim value; a bare instance id (older format) has epoch 0. */
export function claimOwner (value: string | null | undefined): { epoch: number, instanceId: string } | undefined {
  if (value === null || value === undefined || value === '') return undefined
  const owner = ownerPart(value)
  const colon = owner.indexOf(':')
  const epoch = Number(owner.slice(0, colon))
  if (colon < 1 || !Number.isSafeInteger(epoch)) return { epoch: 0, instanceId: owner }
  return { epoch, instanceId: owner.slice(colon + 1) }
}

/** How a claimed session started, as its claim records it: enough to recreate it without its snapshot. */
export interface ClaimedStart {
  readonly startTime: number
  /** Undefined for a session started without a binding (then it is open, as such a session always was). */
  readonly sharer: SharerBinding | undefined
}

/** The claim value's suffix for a session's start: `|{startTime}|{sharerKeyHash hex}|{sharerAddress}`. */
export function startRecord (startTime: number, sharer: SharerBinding | undefined): string {
  return `|${startTime}|${sharer?.keyHash.toString('hex') ?? ''}|${sharer?.address ?? ''}`
}

/** The start record of a claim value; undefined when it has none (claims made before records existed) or a bad one. */
export function claimedStart (value: string | null | undefined): ClaimedStart | undefined {
  if (value === null || value === undefined) return undefined
  const bar = value.indexOf('|')
  if (bar < 0) return undefined
  const [time, hash, ...address] = value.slice(bar + 1).split('|')
  const startTime = Number(time)
  if (!Number.isSafeInteger(startTime) || startTime < 0 || !/^([0-9a-f]{64})?$/.test(hash ?? '')) return undefined
  const sharer = hash === '' ? undefined : { keyHash: Buffer.from(hash!, 'hex'), address: address.join('|') }
  return { startTime, sharer }
}

/** owner(v): the instance id a claim value names; record(v): its start record ('' for none). */
const CLAIM_PARTS_LUA = `
local function record (v)
  local bar = string.find(v, '|', 1, true)
  if bar then return string.sub(v, bar) end
  return ''
end
local function owner (v)
  local bar = string.find(v, '|', 1, true)
  if bar then v = string.sub(v, 1, bar - 1) end
  local p = string.find(v, ':', 1, true)
  if p then return string.sub(v, p + 1) end
  return v
end
`

/**
 * Start: claims a free id (or one this instance already names) with a new epoch and the session's start
 * record, and writes the session's hash in the same step, so a claim never exists without what it takes
 * to take the session over: an instance killed right after a start leaves a session another can carry on.
 * Keys of an earlier session with this id (its metadata, audio, ended marker) are deleted.
 * KEYS: claim, epoch, session hash, metadata, audio, ended. ARGV: instanceId, ttlMs, start record, then the
 * hash's fields and values. Returns {1, value} or {0, current value}.
 */
const START_LUA = CLAIM_PARTS_LUA + `
local cur = redis.call('GET', KEYS[1])
if cur and owner(cur) ~= ARGV[1] then return {0, cur} end
local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1] .. ARGV[3]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('HSET', KEYS[3], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return {1, value}
`

/**
 * Takeover (compare-and-set): moves a session to this instance with a new epoch (keeping its start record),
 * provided the claim still holds `expected` ('' for none), i.e. nobody moved it since it was read. The
 * session's snapshot must exist, or else its claim must carry a start record to recreate it from.
 * KEYS: claim, epoch, session hash. ARGV: instanceId, expected, fallback ttlMs. Returns {1, value} or {0, current}.
 */
const TAKEOVER_LUA = CLAIM_PARTS_LUA + `
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[2] then return {0, cur} end
local ttl = redis.call('PTTL', KEYS[3])
if ttl == -2 then
  if record(cur) == '' then return {0, cur} end
  ttl = redis.call('PTTL', KEYS[1])
end
if ttl < 1 then ttl = tonumber(ARGV[3]) end
local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1] .. record(cur)
redis.call('SET', KEYS[1], value, 'PX', ttl)
return {1, value}
`

/**
 * A fenced write: runs the encoded commands only while this instance's claim holds.
 * KEYS: claim, epoch, ended marker. ARGV: expected claim ('' for a session started without one), claim
 * ttlMs ('' to leave it), instanceId, the start record for a claim this write makes, then the commands,
 * each as its argument count followed by its arguments.
 * - claim == expected: runs them; {1, expected}.
 * - no claim and expected == '': claims it with a new epoch, runs them; {2, value}.
 * - expected == '' and a claim naming this instance with this very start record: this instance's own start
 *   whose answer never came back (a timeout); it is taken as this instance's claim, runs them; {2, claim}.
 * - no claim, expected set, no ended marker (Redis lost its data, e.g. restarted empty): the claim is put
 *   back as it was, runs them; {1, expected}.
 * - anything else (another owner, or the session ended meanwhile): runs nothing; {0, current}.
 */
const FENCED_LUA = CLAIM_PARTS_LUA + `
local cur = redis.call('GET', KEYS[1])
local status = 1
local value = ARGV[1]
if not cur then
  if ARGV[1] == '' then
    value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[3] .. ARGV[4]
    status = 2
  elseif redis.call('EXISTS', KEYS[3]) == 1 then
    return {0, ''}
  end
  redis.call('SET', KEYS[1], value)
  if ARGV[2] == '' then redis.call('PEXPIRE', KEYS[1], 60000) end
elseif ARGV[1] == '' and ARGV[4] ~= '' and record(cur) == ARGV[4] and owner(cur) == ARGV[3] then
  value = cur
  status = 2
elseif cur ~= ARGV[1] then
  return {0, cur}
end
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local i = 5
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return {status, value}
`

export type ScriptReply = [status: number, value: string]

declare module 'ioredis' {
  interface RedisCommander<Context> {
    msStart (claimKey: string, epochKey: string, sessionKey: string, metadataKey: string, audioKey: string, endedKey: string,
      instanceId: string, ttlMs: number, startRecord: string, ...fields: string[]): Result<ScriptReply, Context>
    msTakeOver (claimKey: string, epochKey: string, sessionKey: string, instanceId: string, expected: string, ttlMs: number): Result<ScriptReply, Context>
    msFenced (claimKey: string, epochKey: string, endedKey: string, expected: string, claimTtlMs: string, instanceId: string,
      startRecord: string, ...commands: Array<string | Buffer>): Result<ScriptReply, Context>
  }
}

/** Registers the scripts on a client (ioredis sends EVALSHA, and the script itself once when Redis lacks it). */
export function defineClusterScripts (client: Redis): void {
  client.defineCommand('msStart', { numberOfKeys: 6, lua: START_LUA })
  client.defineCommand('msTakeOver', { numberOfKeys: 3, lua: TAKEOVER_LUA })
  client.defineCommand('msFenced', { numberOfKeys: 3, lua: FENCED_LUA })
}

/** Commands collected for one fenced write. */
export class CommandList {
  readonly commands: Array<Array<string | Buffer>> = []

  call (...args: Array<string | Buffer>): void {
    this.commands.push(args)
  }

  get length (): number { return this.commands.length }

  /** The script's ARGV tail: per command its argument count, then its arguments. */
  encode (): Array<string | Buffer> {
    return this.commands.flatMap((c) => [String(c.length), ...c])
  }
}

/** The claim values of the sessions this instance holds (the expected values of its fenced writes). */
export class ClaimBook {
  #held = new Map<string, string>()

  get (id: string): string | undefined { return this.#held.get(id) }
  set (id: string, value: string): void { this.#held.set(id, value) }
  delete (id: string): void { this.#held.delete(id) }
  entries (): Array<[string, string]> { return [...this.#held] }
  get size (): number { return this.#held.size }
}
