import { chromium, type Browser } from 'playwright-core'
import { findBinary } from '../system-binary.js'

/** Debian's chromium, or the reason browser tests are skipped (see findBinary). */
export const browserBinary = findBinary('chromium', 'chromium')

/**
 * Headless Chromium as root on this machine: no sandbox, no GPU, and none of its background
 * connections (the machine has no network for them; refused, they would flood the log).
 */
export function launchChromium (extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: browserBinary.path,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs]
  })
}
