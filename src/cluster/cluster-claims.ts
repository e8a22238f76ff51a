import type { Redis, Result } from 'ioredis'

/**
 * Session ownership in Redis, for a cluster of instances sharing one Redis (see README "Scaling out").
 *
 *   session:{id}:claim       string  "{epoch}:{instanceId}": who owns the session, and since which takeover
 *   cluster:epoch            integer incremented by every claim and takeover: epochs are never reused
 *   instance:{id}:heartbeat  string  JSON {startedAt, sessions}; TTL HEARTBEAT_TTL_MS, refreshed every second
 *
 * Every snapshot write of a session goes through `msFenced`, which runs it only while the claim still holds
 * the value the writer was given: an instance whose session was taken over (a new epoch) can no longer write
 * it, learns so from the script's answer, and drops the session.
 */
export const EPOCH_KEY = 'cluster:epoch'
export const heartbeatKey = (instanceId: string) => `instance:${instanceId}:heartbeat`
export const HEARTBEAT_KEY = /^instance:(.+):heartbeat$/
/** How often an instance refreshes its heartbeat and checks the claims of the sessions it holds. */
export const HEARTBEAT_INTERVAL_MS = 1_000
/** An instance whose heartbeat is older than this is gone: its sessions are orphans. */
export const HEARTBEAT_TTL_MS = 3_000

/** The owner named by a claim value ("{epoch}:{instanceId}"); a bare instance id (older format) has epoch 0. */
export function claimOwner (value: string | null | undefined): { epoch: number, instanceId: string } | undefined {
  if (value === null || value === undefined || value === '') return undefined
  const colon = value.indexOf(':')
  const epoch = Number(value.slice(0, colon))
  if (colon < 1 || !Number.isSafeInteger(epoch)) return { epoch: 0, instanceId: value }
  return { epoch, instanceId: value.slice(colon + 1) }
}

const OWNER_LUA = `
local function owner (v)
  local p = string.find(v, ':', 1, true)
  if p then return string.sub(v, p + 1) end
  return v
end
`

/**
 * Start: claims a free id (or one this instance already names) with a new epoch.
 * KEYS: claim, epoch. ARGV: instanceId, ttlMs. Returns {1, value} or {0, current value}.
 */
const CLAIM_LUA = OWNER_LUA + `
local cur = redis.call('GET', KEYS[1])
if cur and owner(cur) ~= ARGV[1] then return {0, cur} end
local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {1, value}
`

/**
 * Takeover (compare-and-set): moves a session whose snapshot exists to this instance with a new epoch,
 * provided the claim still holds `expected` ('' for none), i.e. nobody moved it since it was read.
 * KEYS: claim, epoch, session hash. ARGV: instanceId, expected, fallback ttlMs. Returns {1, value} or {0, current}.
 */
const TAKEOVER_LUA = `
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[2] then return {0, cur} end
local ttl = redis.call('PTTL', KEYS[3])
if ttl == -2 then return {0, cur} end
if ttl < 1 then ttl = tonumber(ARGV[3]) end
local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ttl)
return {1, value}
`

/**
 * A fenced write: runs the encoded commands only while this instance's claim holds.
 * KEYS: claim, epoch, ended marker. ARGV: expected claim ('' for a session started without one), claim
 * ttlMs ('' to leave it), instanceId, then the commands, each as its argument count followed by its arguments.
 * - claim == expected: runs them; {1, expected}.
 * - no claim and expected == '': claims it with a new epoch, runs them; {2, value}.
 * - no claim, expected set, no ended marker (Redis lost its data, e.g. restarted empty): the claim is put
 *   back as it was, runs them; {1, expected}.
 * - anything else (another owner, or the session ended meanwhile): runs nothing; {0, current}.
 */
const FENCED_LUA = `
local cur = redis.call('GET', KEYS[1])
local status = 1
local value = ARGV[1]
if not cur then
  if ARGV[1] == '' then
    value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[3]
    status = 2
  elseif redis.call('EXISTS', KEYS[3]) == 1 then
    return {0, ''}
  end
  redis.call('SET', KEYS[1], value)
  if ARGV[2] == '' then redis.call('PEXPIRE', KEYS[1], 60000) end
elseif cur ~= ARGV[1] then
  return {0, cur}
end
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local i = 4
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
    msClaim (claimKey: string, epochKey: string, instanceId: string, ttlMs: number): Result<ScriptReply, Context>
    msTakeOver (claimKey: string, epochKey: string, sessionKey: string, instanceId: string, expected: string, ttlMs: number): Result<ScriptReply, Context>
    msFenced (claimKey: string, epochKey: string, endedKey: string, expected: string, claimTtlMs: string, instanceId: string,
      ...commands: Array<string | Buffer>): Result<ScriptReply, Context>
  }
}

/** Registers the scripts on a client (ioredis sends EVALSHA, and the script itself once when Redis lacks it). */
export function defineClusterScripts (client: Redis): void {
  client.defineCommand('msClaim', { numberOfKeys: 2, lua: CLAIM_LUA })
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
