import { execFileSync } from 'node:child_process'

/**
 * For tests that need a system program (redis-server, ffmpeg, chromium, haproxy). Returns the path when
 * it is installed. When it is not: returns a one-line skip reason naming the Debian package, so `npm test`
 * passes on a fresh machine; under CI=true it throws instead, because `.ci/run` installs these packages
 * and a missing one there is a broken CI, never a skip.
 *
 *   const redis = findBinary('redis-server', 'redis-server')
 *   t.test('…', { skip: redis.skip }, async (t) => { … redis.path … })
 */
export function findBinary (command: string, debianPackage: string): { path: string, skip: false } | { path: '', skip: string } {
  let path = ''
  try {
    path = execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim()
  } catch {
    path = ''
  }
  if (path !== '') return { path, skip: false }
  const reason = `${command} is not installed (Debian package: ${debianPackage})`
  if (process.env.CI === 'true') throw new Error(`${reason}; .ci/run must install it`)
  return { path: '', skip: reason }
}
