import t from 'tap'
import { isPrivateAddress } from '../../src/auth/private-address.js'

t.test('loopback, RFC 1918, link-local and unique-local addresses are private', async (t) => {
  for (const a of ['127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.0.1', '172.31.255.254', '192.168.0.1', '169.254.3.4',
    '::1', 'fc00::1', 'fd00:abcd::2', 'fe80::1', '::ffff:127.0.0.1', '::FFFF:10.9.8.7']) {
    t.ok(isPrivateAddress(a), a)
  }
})

t.test('public addresses and anything that is not an address are not', async (t) => {
  for (const a of ['8.8.8.8', '172.15.255.255', '172.32.0.1', '192.169.0.1', '11.0.0.1', '2001:db8::1', '2606:4700::1111',
    '::ffff:8.8.8.8', '', 'localhost', 'not-an-ip', '999.1.1.1']) {
    t.notOk(isPrivateAddress(a), a === '' ? '(empty)' : a)
  }
})
