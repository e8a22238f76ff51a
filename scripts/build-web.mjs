/* global console */
// Bundles the listener and statistics pages (web/) into dist/web with content-hashed names, and writes
// dist/web/manifest.json mapping each entry to its file, which the server reads at start.
import { build } from 'esbuild'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, 'dist', 'web')
const entries = {
  listen: 'web/listen/main.ts',
  worklet: 'web/listen/worklet.ts',
  style: 'web/listen/listen.css',
  stats: 'web/stats/main.ts',
  statsStyle: 'web/stats/stats.css'
}

await rm(outdir, { recursive: true, force: true })
await mkdir(outdir, { recursive: true })
const result = await build({
  absWorkingDir: root,
  entryPoints: entries,
  outdir,
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  metafile: true,
  logLevel: 'warning'
})

const manifest = {}
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (output.entryPoint === undefined) continue
  const name = Object.keys(entries).find((key) => entries[key] === output.entryPoint)
  if (name !== undefined) manifest[name] = basename(file)
}
await writeFile(join(outdir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
console.log('web assets:', Object.values(manifest).join(', '))
