import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** One built file of the listener page, held in memory (a few hundred KB in all). */
export interface WebAsset {
  bytes: Buffer
  type: string
  etag: string
}

/** The built pages: entry names (`listen`, `worklet`, `style`, `stats`, `statsStyle`) to hashed file names, and the files. */
export interface WebAssets {
  entries: { listen: string, worklet: string, style: string, stats: string, statsStyle: string }
  files: Map<string, WebAsset>
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8'
}

/** The project root: the nearest folder above this module that holds package.json (works from src/ and dist/src/). */
function projectRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('package.json not found above the web-assets module')
    dir = up
  }
  return dir
}

/** The default place `npm run build` writes the page to. */
export function defaultWebDir (): string {
  return join(projectRoot(), 'dist', 'web')
}

/**
 * Reads dist/web/manifest.json (written by scripts/build-web.mjs) and every file of the folder: the
 * entries it names, the chunks they import lazily (the wasm Opus decoder), their source maps.
 * Undefined when the page has not been built.
 */
export function loadWebAssets (dir: string): WebAssets | undefined {
  const manifestPath = join(dir, 'manifest.json')
  if (!existsSync(manifestPath)) return undefined
  const entries = JSON.parse(readFileSync(manifestPath, 'utf8')) as WebAssets['entries']
  const files = new Map<string, WebAsset>()
  for (const file of readdirSync(dir)) {
    const ext = file.slice(file.lastIndexOf('.'))
    if (TYPES[ext] === undefined || file === 'manifest.json') continue
    const bytes = readFileSync(join(dir, file))
    const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`
    files.set(file, { bytes, type: TYPES[ext], etag })
  }
  return { entries, files }
}
