/* global console */
// Bundles the listener and statistics pages (web/) into dist/web with content-hashed names, and writes
// dist/web/manifest.json mapping each entry to its file, which the server reads at start (with every
// other file of the folder: the lazily imported chunks).
//
// Two builds: the pages with code splitting, so the wasm Opus decoder is a chunk of its own that only
// pages without WebCodecs import; the AudioWorklet module and the stylesheets as single files (a worklet
// module with imports of its own is not supported everywhere).
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
const common = {
  absWorkingDir: root,
  outdir,
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  metafile: true,
  logLevel: 'warning'
}

await rm(outdir, { recursive: true, force: true })
await mkdir(outdir, { recursive: true })
const results = await Promise.all([
  build({ ...common, entryPoints: { listen: entries.listen, stats: entries.stats }, splitting: true, chunkNames: '[name]-[hash]' }),
  build({ ...common, entryPoints: { worklet: entries.worklet, style: entries.style, statsStyle: entries.statsStyle } })
])

const manifest = {}
const files = []
for (const result of results) {
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (!file.endsWith('.map')) files.push(`${basename(file)} ${(output.bytes / 1024).toFixed(1)} KB`)
    if (output.entryPoint === undefined) continue
    const name = Object.keys(entries).find((key) => entries[key] === output.entryPoint)
    if (name !== undefined) manifest[name] = basename(file)
  }
}
await writeFile(join(outdir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
console.log('web assets:', files.join(', '))
