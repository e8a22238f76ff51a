import { setTimeout as sleep } from 'node:timers/promises'
import { readAudioChunks } from './client-contract.js'

/**
 * A receiver as the desktop client polls: GET `audioUrl?since=N` every `everyMs` until `running(since)` is
 * false, following `since`, retrying on connection errors. Returns the sequence numbers received, error
 * answers (non-200/204), and how many polls could not connect.
 */
export async function pollingReceiver (audioUrl: string, headers: Record<string, string>, everyMs: number, running: (since: number) => boolean) {
  const got: number[] = []
  const errors: string[] = []
  let unreachable = 0
  let since = -1
  while (running(since)) {
    try {
      const res = await fetch(`${audioUrl}?since=${since}`, { headers })
      if (res.status === 200) {
        for (const c of readAudioChunks(JSON.parse(await res.text()))) {
          got.push(c.sequenceNumber)
          since = c.sequenceNumber
        }
      } else if (res.status !== 204) {
        errors.push(`${res.status} ${await res.text()}`)
      }
    } catch {
      unreachable++ // the server is down: try again
    }
    await sleep(everyMs)
  }
  return { got, errors, unreachable }
}
