import { describe, expect, it } from 'vitest';
import { decodeEventRecords, packEventRecords as pack } from '../../../shared/native/event-records.js';

describe('decodeEventRecords (the packed batch of the native addon)', () => {
  it('builds each kind with its fields, strings by index, datagrams as views of the batch buffer', () => {
    const data = Buffer.from('abcdefgh');
    const events = decodeEventRecords(pack([
      { kind: 0, target: 3, fields: { 0: 7n, 1: 9n, 2: 1000n, 3: 1010n, 4: 1_700_000_000_000_000_000n } },
      { kind: 1, target: 3, source: 2, fields: { 0: 7n, 5: 123n } },
      { kind: 2, target: 1, fields: { 1: 40n, 2: 5000n, 10: 12n } },
      { kind: 3, source: 3, port: 7707, string: 0, data: [2, 4], fields: { 5: 555n, 6: 666n, 11: 700n } },
      { kind: 4 },
      { kind: 5, string: 1 },
      { kind: 6, source: 1, port: 4000, session: 0xdeadbeef, string: 0, fields: { 0: 2n ** 64n - 1n, 6: -5n, 7: 1n, 8: 2n, 9: 3n } },
      { kind: 7, session: 5, source: 2, fields: { 0: 8n, 5: 999n, 8: 990n } },
      { kind: 8, string: 2, fields: { 10: 3n } },
      { kind: 9, fields: { 10: 2n } },
      { kind: 10, target: 4, string: 3, fields: { 10: 20n } },
      // folded TX stamps: stampNs, and count is the stamp's source
      { kind: 0, target: 2, fields: { 0: 8n, 1: 10n, 2: 2000n, 3: 2010n, 4: 5n, 5: 2020n, 10: 2n } },
      { kind: 6, source: 2, port: 4001, session: 6, string: 0, fields: { 0: 9n, 5: 77n, 6: 1n, 7: 4n, 8: 5n, 9: 6n, 10: 3n } },
      // the controller thread's verdicts on reply tags (--key-file): 1 + AuthCheck
      { kind: 3, source: 2, port: 1, string: 0, data: [0, 1], fields: { 5: 1n, 6: 1n, 10: 1n, 11: 2n } },
      { kind: 3, source: 2, port: 1, string: 0, data: [0, 1], fields: { 5: 1n, 6: 1n, 10: 3n, 11: 2n } },
    ]), ['127.0.0.1', 'sendmsg failed', 'session-limit', 'ICMP port unreachable'], data);
    expect(events).toEqual([
      { kind: 'sent', target: 3, seq: 7n, slot: 9n, dueMonoNs: 1000n, sentMonoNs: 1010n, t1RealNs: 1_700_000_000_000_000_000n,
        txNs: null, txSource: null },
      { kind: 'tx', target: 3, seq: 7n, txNs: 123n, source: 'kernel' },
      { kind: 'missed', target: 1, slot: 40n, dueMonoNs: 5000n, count: 12 },
      { kind: 'rx', data: Buffer.from('cdef'), address: '127.0.0.1', port: 7707, rxNs: 555n, source: 'hardware', rxMonoNs: 666n, readMonoNs: 700n, auth: null },
      { kind: 'done' },
      { kind: 'error', message: 'sendmsg failed' },
      { kind: 'reflected', address: '127.0.0.1', port: 4000, session: 0xdeadbeef, seq: 2n ** 64n - 1n, t1Ns: 1n, t2Ns: 2n, t3Ns: 3n,
        t2Source: 'user', rxMonoNs: -5n, txNs: null, txSource: null },
      { kind: 'reflect-tx', session: 5, seq: 8n, txNs: 999n, source: 'kernel', t2Ns: 990n },
      { kind: 'refused', reason: 'session-limit', count: 3 },
      { kind: 'session-ended', count: 2 },
      { kind: 'unreachable', target: 4, reason: 'ICMP port unreachable', count: 20 },
      { kind: 'sent', target: 2, seq: 8n, slot: 10n, dueMonoNs: 2000n, sentMonoNs: 2010n, t1RealNs: 5n, txNs: 2020n, txSource: 'kernel' },
      { kind: 'reflected', address: '127.0.0.1', port: 4001, session: 6, seq: 9n, t1Ns: 4n, t2Ns: 5n, t3Ns: 6n, t2Source: 'kernel',
        rxMonoNs: 1n, txNs: 77n, txSource: 'hardware' },
      { kind: 'rx', data: Buffer.from('a'), address: '127.0.0.1', port: 1, rxNs: 1n, source: 'kernel', rxMonoNs: 1n, readMonoNs: 2n, auth: 'genuine' },
      { kind: 'rx', data: Buffer.from('a'), address: '127.0.0.1', port: 1, rxNs: 1n, source: 'kernel', rxMonoNs: 1n, readMonoNs: 2n, auth: 'bad-auth' },
    ]);
  });

  it('an empty batch (the addon sends one byte) is no event; an unknown kind is an error event, not a crash', () => {
    expect(decodeEventRecords(new ArrayBuffer(1), [], Buffer.alloc(1))).toEqual([]);
    expect(decodeEventRecords(pack([{ kind: 99 }]), [], Buffer.alloc(1))).toEqual([
      { kind: 'error', message: 'native event of unknown kind 99 (addon and JS out of step?)' },
    ]);
  });
});
