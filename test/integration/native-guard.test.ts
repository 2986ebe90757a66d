/**
 * The native reflector's guard (shared/native/src/probe_guard.cc) through the addon, on real
 * loopback sockets: the same fair-place and refusal rules as agent/probe-guard.ts (unit-tested
 * in test/unit/agent/probe-guard.test.ts), and sendDatagram, the controller's way to send a
 * session-end from its probe socket without a TX stamp.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNativeAddon, type NativeEvent, type NativeProbeSocket } from '../../shared/native/native-addon.js';
import { decodeProbe, encodeProbe, encodeSessionEnd } from '../../shared/wire/probe-codec.js';
import { skipNote, whySkip } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait-for.js';

const loaded = loadNativeAddon();
const skipReason = whySkip([!loaded.ok, `the native addon does not load (${loaded.ok ? '' : loaded.reason})`]);

interface Peer {
  socket: dgram.Socket;
  port: number;
  received: Buffer[];
}

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0)) await item.close();
});

async function peer(address = '127.0.0.1'): Promise<Peer> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (data) => received.push(data));
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  opened.push({ close: () => new Promise<void>((resolve) => socket.close(() => resolve())) });
  return { socket, port: socket.address().port, received };
}

function reflector(maxSessions: number, bindAddress = '127.0.0.1', maxSessionsPerSource?: number): { socket: NativeProbeSocket; events: NativeEvent[] } {
  if (!loaded.ok) throw new Error('no addon');
  const events: NativeEvent[] = [];
  const socket = new loaded.addon.ProbeSocket(
    { mode: 'reflector', family: 4, bindAddress, port: 0, timestamps: 'kernel', maxSessions, ...(maxSessionsPerSource ? { maxSessionsPerSource } : {}) },
    (batch) => events.push(...batch),
  );
  opened.push({ close: () => socket.close() });
  return { socket, events };
}

async function send(from: Peer, port: number, datagram: Buffer, answers: number, to = '127.0.0.1'): Promise<Buffer[]> {
  const before = from.received.length;
  await new Promise<void>((resolve, reject) => from.socket.send(datagram, port, to, (e) => (e ? reject(e) : resolve())));
  await waitFor(() => from.received.length >= before + answers, { what: () => `${answers} answers`, timeoutMs: 5000 });
  await new Promise((resolve) => setTimeout(resolve, 50)); // an answer too many would arrive here
  return from.received.slice(before);
}

const typeOf = (datagram: Buffer | undefined): string => {
  const decoded = decodeProbe(datagram ?? Buffer.alloc(0));
  return decoded.ok ? decoded.packet.type : decoded.reason;
};

describe.skipIf(skipReason !== null)(`native guard through the addon${skipNote(skipReason)}`, () => {
  it('one place per address+port, a share per address, refusal replies with detail and scope, session-end from the holder only', async () => {
    const { socket, events } = reflector(4); // a share of 1 place per address
    const port = socket.localPort;
    const a = await peer();
    const b = await peer();
    expect((await send(a, port, encodeProbe(1, 0n, 1n, 64), 1)).map(typeOf)).toEqual(['reply']);
    expect((await send(a, port, encodeProbe(2, 0n, 1n, 64), 1)).map(typeOf)).toEqual(['reply']); // replaces session 1
    const refused = await send(b, port, encodeProbe(3, 9n, 7n, 500), 1);
    expect(refused[0]?.length).toBe(64);
    expect(decodeProbe(refused[0] ?? Buffer.alloc(0))).toMatchObject({
      ok: true, packet: { type: 'refusal', session: 3, seq: 9n, t1Ns: 7n, refusal: { reason: 'session-limit', detail: 1, scope: 'source-address' } },
    });
    // a session-end from b names a's session: not honoured; from a: its place is free at once
    expect(await send(b, port, encodeSessionEnd(2, 1n, 1n), 0)).toEqual([]);
    expect(await send(a, port, encodeSessionEnd(2, 1n, 1n), 0)).toEqual([]);
    expect((await send(b, port, encodeProbe(3, 10n, 1n, 64), 1)).map(typeOf)).toEqual(['reply']);
    // 127.0.0.2 has a share of its own
    const c = await peer('127.0.0.2');
    expect((await send(c, port, encodeProbe(4, 0n, 1n, 64), 1)).map(typeOf)).toEqual(['reply']);
    await socket.close();
    const counted = (kind: string, reason?: string): number => events.reduce((n, e) =>
      n + (e.kind === kind && (reason === undefined || ('reason' in e && e.reason === reason)) && 'count' in e ? e.count : 0), 0);
    expect(counted('refused', 'session-limit')).toBe(1);
    expect(counted('refused', 'unknown-session')).toBe(1);
    expect(counted('session-ended')).toBe(1);
    // refusals get no TX stamp: one stamp per reply, none for the refusal
    expect(socket.stats()).toMatchObject({ reflected: 4, txStamps: 4, refused: 2 });
  });

  it('one controller socket probing two addresses of an agent on 0.0.0.0 holds a place for each', async () => {
    const { socket, events } = reflector(64, '0.0.0.0');
    const port = socket.localPort;
    const controller = await peer();
    for (let round = 0n; round < 3n; round++) {
      expect((await send(controller, port, encodeProbe(1, round, 1n, 64), 1, '127.0.0.1')).map(typeOf)).toEqual(['reply']);
      expect((await send(controller, port, encodeProbe(2, round, 1n, 64), 1, '127.0.0.2')).map(typeOf)).toEqual(['reply']);
    }
    // both sessions kept their places: session 1 ends only towards 127.0.0.1, session 2 towards 127.0.0.2
    expect(await send(controller, port, encodeSessionEnd(1, 3n, 1n), 0, '127.0.0.2')).toEqual([]);
    expect(await send(controller, port, encodeSessionEnd(1, 3n, 1n), 0, '127.0.0.1')).toEqual([]);
    expect(await send(controller, port, encodeSessionEnd(2, 3n, 1n), 0, '127.0.0.2')).toEqual([]);
    await socket.close();
    expect(socket.stats()).toMatchObject({ reflected: 6, refused: 1 }); // the first session-end: unknown-session
    expect(events.reduce((n, e) => n + (e.kind === 'session-ended' ? e.count : 0), 0)).toBe(2);
  });

  it('maxSessionsPerSource: one controller socket probing 8 addresses holds 8 places of 8 (the default share would be 2)', async () => {
    for (const [perSource, answered] of [[undefined, 2], [8, 8]] as const) {
      const { socket } = reflector(8, '0.0.0.0', perSource);
      const controller = await peer();
      const types: string[] = [];
      for (let i = 1; i <= 8; i++) types.push(...(await send(controller, socket.localPort, encodeProbe(i, 0n, 1n, 64), 1, `127.0.0.${i}`)).map(typeOf));
      expect(types.filter((t) => t === 'reply')).toHaveLength(answered);
      expect(types.filter((t) => t === 'refusal')).toHaveLength(8 - answered);
      await socket.close();
    }
  });

  it('refusal replies to one address: a burst of 10, then 100 a second', async () => {
    const { socket } = reflector(1);
    const port = socket.localPort;
    const holder = await peer();
    await send(holder, port, encodeProbe(1, 0n, 1n, 64), 1);
    const other = await peer('127.0.0.2');
    const start = performance.now();
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => other.socket.send(encodeProbe(2, BigInt(i), 1n, 64), port, '127.0.0.1', () => resolve()));
    }
    const elapsedMs = performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(other.received.length).toBeGreaterThanOrEqual(10);
    expect(other.received.length).toBeLessThanOrEqual(10 + Math.ceil(elapsedMs / 10) + 1);
    expect(other.received.map(typeOf)).toEqual(other.received.map(() => 'refusal'));
  });

  it('sendDatagram: one datagram from the socket\'s own port, no TX stamp; a bad address throws, a closed socket says EBADF', async () => {
    const { socket } = reflector(4);
    const to = await peer();
    const end = encodeSessionEnd(7, 10n, 1n);
    expect(socket.sendDatagram(end, '127.0.0.1', to.port)).toBe(0);
    let from = 0;
    to.socket.once('message', (_data, rinfo) => { from = rinfo.port; });
    expect(socket.sendDatagram(end, '127.0.0.1', to.port)).toBe(0);
    await waitFor(() => to.received.length === 2, { what: () => 'two datagrams', timeoutMs: 5000 });
    expect(to.received[0]).toEqual(end);
    expect(from).toBe(socket.localPort);
    expect(socket.stats().txStamps).toBe(0);
    expect(() => socket.sendDatagram(end, 'not-an-address', to.port)).toThrow();
    expect(() => socket.sendDatagram(end, '127.0.0.1', 0)).toThrow(RangeError);
    await socket.close();
    expect(socket.sendDatagram(end, '127.0.0.1', to.port)).toBe(9); // EBADF
  });
});
