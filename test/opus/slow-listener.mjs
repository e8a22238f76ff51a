// A WebSocket listener in a process of its own that reads only when told: "pause" and "resume" on
// stdin; prints one JSON line per text frame it reads (the test follows its quality events).
import process from 'node:process'
import WebSocket from 'ws'

const [url, authorization] = process.argv.slice(2)
const ws = new WebSocket(url, { headers: { authorization } })
ws.on('open', () => process.stdout.write('{"type":"open"}\n'))
ws.on('message', (data, binary) => { if (!binary) process.stdout.write(`${data.toString()}\n`) })
ws.on('close', (code) => { process.stdout.write(`{"type":"closed","code":${code}}\n`); process.exit(0) })
process.stdin.setEncoding('utf8')
process.stdin.on('data', (text) => {
  for (const command of text.split('\n')) {
    if (command === 'pause') ws._socket.pause()
    if (command === 'resume') ws._socket.resume()
    if (command === 'close') ws.close()
  }
})
