/** One timed lyric line. */
export interface LrcLine {
  /** Seconds from the start of the song. */
  time: number
  text: string
}

/** One leading time tag, matched at a position (sticky). */
const TIME_TAG = /\s*\[(\d{1,3}):(\d{1,2})(?:[.:](\d{1,3}))?\]/y

/**
 * Parses LRC text: `[mm:ss.xx]text` lines, several time tags on one line, `[offset:+/-ms]`. Metadata tags
 * (`[ar:…]`, `[ti:…]`) and untimed lines are skipped. Sorted by time; an empty array when nothing is timed.
 */
export function parseLrc (text: string): LrcLine[] {
  const lines: LrcLine[] = []
  let offset = 0
  for (const raw of text.split(/\r\n|\n|\r/)) {
    const off = /^\s*\[offset:\s*([+-]?\d+)\s*\]/i.exec(raw)
    if (off !== null) {
      offset = Number(off[1]) / 1000
      continue
    }
    const times: number[] = []
    TIME_TAG.lastIndex = 0
    let end = 0
    for (let m = TIME_TAG.exec(raw); m !== null; m = TIME_TAG.exec(raw)) {
      const fraction = m[3] === undefined ? 0 : Number(m[3]) / 10 ** m[3].length
      times.push(Number(m[1]) * 60 + Number(m[2]) + fraction)
      end = TIME_TAG.lastIndex
    }
    const rest = raw.slice(end)
    if (times.length === 0) continue
    const lineText = rest.trim()
    for (const time of times) lines.push({ time, text: lineText })
  }
  // Stable: lines at the same time keep their order.
  return lines
    .map((line) => ({ time: Math.max(0, line.time - offset), text: line.text }))
    .sort((a, b) => a.time - b.time)
}

/** Index of the line being sung at `seconds` (the last line that started), or -1 before the first. */
export function currentLine (lines: readonly LrcLine[], seconds: number): number {
  let lo = 0
  let hi = lines.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if ((lines[mid] as LrcLine).time <= seconds) {
      found = mid
      lo = mid + 1
    } else {
      hi = mid - 1
    }
  }
  return found
}
