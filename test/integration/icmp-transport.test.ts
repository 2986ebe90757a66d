/**
 * Both ICMP echo transports on real raw sockets: the native one (kernel stamps) and the
 * raw-socket one (user stamps). Loopback (127.0.0.1, ::1), a concurrent `ping`, malformed
 * ICMP injected by the test, and an address inside a network namespace the test creates and
 * removes. Asserts counts, classifications and stamp orderings, never absolute latencies.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeEchoReply, encodeEchoRequest, icmpChecksum, icmpIdentifier, ICMP_OFFSET_CHECKSUM, ICMP_OFFSET_MAGIC,
  ICMP_OFFSET_SESSION, type IcmpFamily,
} from '../../controller/transport/icmp-codec.js';
import { RawIcmpTransport } from '../../controller/transport/raw-icmp-transport.js';
import { loadNativeAddon } from '../../shared/native/native-addon.js';
import { createNativeIcmpTransport } from '../../controller/transport/native-icmp-transport.js';
import type { IcmpTransport } from '../../controller/transport/icmp-transport.js';
import type {
  RxEvent, SentEvent, StampSource, TransportEvent, TxStampEvent,
} from '../../shared/transport/probe-transport.js';
import { createGuestNamespace, namespaceExists, type GuestNamespace } from '../helpers/netns.js';
import { skipNote, whySkip } from '../helpers/skip.js';
import { unfoldTxStamps } from '../helpers/unfold-tx.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const isRoot = process.getuid?.() === 0;
const loaded = loadNativeAddon();
const noAddon = loaded.ok ? null : `the native addon is not loaded (${loaded.reason})`;
const hasPing = spawnSync('ping', ['-V']).status === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const hasIpv6Loopback = spawnSync('ip', ['-6', 'addr', 'show', 'lo']).stdout?.toString().includes('::1') ?? false;
const notRoot = whySkip([!isRoot, 'not root']);
const noIpv6Loopback = whySkip([!hasIpv6Loopback, 'no ::1 on lo']);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

type Kind = 'native' | 'raw-socket';
const EXPECTED_SOURCE: Record<Kind, StampSource> = { native: 'kernel', 'raw-socket': 'user' };

/** Collects event batches and waits for a condition on everything seen so far. */
class Collector {
  readonly events: TransportEvent[] = [];
  readonly errors: string[] = [];
  readonly handler = (events: TransportEvent[]): void => {
    this.events.push(...unfoldTxStamps(events));
  };
  waitFor(done: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
    return waitFor(done, { what: () => `${typeof what === 'string' ? what : what()} (${this.events.length} events)`, timeoutMs });
  }
  of<K extends TransportEvent['kind']>(kind: K): Array<Extract<TransportEvent, { kind: K }>> {
    return this.events.filter((e): e is Extract<TransportEvent, { kind: K }> => e.kind === kind);
  }
}

const toClose: IcmpTransport[] = [];
afterEach(async () => {
  await Promise.all(toClose.splice(0).map((t) => t.close()));
});

async function open(kind: Kind, family: IcmpFamily, collector: Collector): Promise<IcmpTransport> {
  let transport: IcmpTransport;
  if (kind === 'native') {
    if (!loaded.ok) throw new Error(loaded.reason);
    transport = await createNativeIcmpTransport(loaded.addon, {
      family, onError: (event) => collector.errors.push(event.message),
    }, collector.handler);
  } else {
    transport = await RawIcmpTransport.open(family, collector.handler, (error) => collector.errors.push(error.message));
  }
  toClose.push(transport);
  return transport;
}

/** Runs `probes` echo requests at `hz` to one address and waits for the schedule's end and the replies. */
async function probe(transport: IcmpTransport, collector: Collector, address: string, family: IcmpFamily,
  session: number, probes: number, hz = 100): Promise<void> {
  transport.start({
    targets: [{ address, port: 0, family }],
    templates: [encodeEchoRequest(session, 0n, 0n, 64, family)],
    seqOffset: 16,
    t1Offset: 24,
    periodNs: BigInt(Math.round(1e9 / hz)),
    startMonoNs: process.hrtime.bigint() + 5_000_000n,
    probesPerTarget: BigInt(probes),
  });
  await collector.waitFor(() => collector.of('done').length === 1, 10_000, 'the end of the schedule');
  await collector.waitFor(() => decodedFor(collector, family, session).length >= probes, 5_000, `${probes} replies`);
  // Late duplicates or strays would show up within this grace period.
  await sleep(100);
}

function decodedFor(collector: Collector, family: IcmpFamily, session: number) {
  const ours = (id: number): boolean => id === icmpIdentifier(session);
  return collector.of('rx').flatMap((rx) => {
    const decoded = decodeEchoReply(rx.data, family, ours);
    return decoded.ok && decoded.session === session ? [{ rx, decoded }] : [];
  });
}

function reasonsOf(collector: Collector, family: IcmpFamily, session: number): string[] {
  const ours = (id: number): boolean => id === icmpIdentifier(session);
  return collector.of('rx').map((rx) => {
    const decoded = decodeEchoReply(rx.data, family, ours);
    return decoded.ok ? 'ok' : decoded.reason;
  });
}

/** A session whose identifier is none of the ones on this host's ICMP sockets right now. */
function newSession(): number {
  return (Math.floor(Math.random() * 0x1_0000_0000) | 0x8000) >>> 0;
}

describe.skipIf(notRoot !== null)(`ICMP echo transports (raw sockets: these need root / CAP_NET_RAW)${skipNote(notRoot)}`, () => {
  const kinds: Kind[] = loaded.ok ? ['native', 'raw-socket'] : ['raw-socket'];

  if (noAddon !== null) it.skip(`native ICMP transport${skipNote(noAddon)}`, () => {});

  describe.each(kinds)('%s', (kind) => {
    it('127.0.0.1: 50 probes at 100 Hz → 50 replies with our session and seq, stamps of the right source', async () => {
      const collector = new Collector();
      const transport = await open(kind, 4, collector);
      expect(transport.stampSource).toBe(EXPECTED_SOURCE[kind]);
      const session = newSession();
      await probe(transport, collector, '127.0.0.1', 4, session, 50);

      const sent = collector.of('sent');
      expect(sent.map((e) => e.seq)).toEqual([...Array(50).keys()].map(BigInt));
      const replies = decodedFor(collector, 4, session);
      expect(replies.map((r) => r.decoded.seq).sort((a, b) => Number(a - b))).toEqual(sent.map((e) => e.seq));
      const sentBySeq = new Map(sent.map((e): [bigint, SentEvent] => [e.seq, e]));
      for (const { rx, decoded } of replies) {
        expect(rx.address).toBe('127.0.0.1');
        expect(rx.port).toBe(0);
        expect(rx.source).toBe(EXPECTED_SOURCE[kind]);
        expect(decoded.t1Ns).toBe(sentBySeq.get(decoded.seq)?.t1RealNs);
      }
      const tx = collector.of('tx');
      expect(tx).toHaveLength(50);
      expect(new Set(tx.map((e) => e.source))).toEqual(new Set([EXPECTED_SOURCE[kind]]));
      // Our own requests come back on loopback: never handed out. The native socket has the
      // kernel drop them before they are queued (ICMP_FILTER); the fallback reads and counts them.
      expect(collector.of('rx').every((rx) => rx.data[0] === 0)).toBe(true);
      if (kind === 'native') expect(transport.stats().filtered).toBe(0);
      else expect(transport.stats().filtered).toBeGreaterThanOrEqual(50);
      expect(transport.stats().sendErrors).toBe(0);
      expect(collector.errors).toEqual([]);

      if (kind === 'native') {
        // The kernel's interval lies inside the one user space saw around sendto/recvmsg.
        const txBySeq = new Map(tx.map((e): [bigint, TxStampEvent] => [e.seq, e]));
        for (const { rx, decoded } of replies) {
          const kernelRttNs = rx.rxNs - (txBySeq.get(decoded.seq)?.txNs ?? 0n);
          const userRttNs = rx.rxMonoNs - (sentBySeq.get(decoded.seq)?.sentMonoNs ?? 0n);
          expect(kernelRttNs).toBeGreaterThan(0n);
          expect(kernelRttNs).toBeLessThanOrEqual(userRttNs);
        }
      }
    });

    it.skipIf(noIpv6Loopback !== null)(`::1 (ICMPv6, checksums by the kernel): 20 probes → 20 replies${skipNote(noIpv6Loopback)}`, async () => {
      const collector = new Collector();
      const transport = await open(kind, 6, collector);
      const session = newSession();
      await probe(transport, collector, '::1', 6, session, 20);
      const replies = decodedFor(collector, 6, session);
      expect(replies.map((r) => r.decoded.seq).sort((a, b) => Number(a - b))).toEqual([...Array(20).keys()].map(BigInt));
      expect(replies.every((r) => r.rx.address === '::1' && r.rx.source === EXPECTED_SOURCE[kind])).toBe(true);
      expect(collector.of('rx').every((rx) => rx.data[0] === 129)).toBe(true);
      expect(collector.of('tx').filter((e) => e.source === EXPECTED_SOURCE[kind])).toHaveLength(20);
    });

    it('a concurrent `ping -i 0.2 -c 10 127.0.0.1` is not counted as ours and crashes nothing', async (ctx) => {
      if (!hasPing) ctx.skip('ping (iputils-ping) is not installed');
      const collector = new Collector();
      const transport = await open(kind, 4, collector);
      const session = newSession();
      const ping = spawn('ping', ['-n', '-i', '0.2', '-c', '10', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let pingOut = '';
      ping.stdout.on('data', (chunk: Buffer) => { pingOut += chunk.toString(); });
      const pingExit = new Promise<number | null>((resolve) => ping.on('close', resolve));
      await probe(transport, collector, '127.0.0.1', 4, session, 50);
      expect(await pingExit).toBe(0);
      expect(pingOut).toMatch(/10 packets transmitted, 10 received/);
      // ping has its 10 replies: ours, from the same kernel, may still be on the way to JS
      await collector.waitFor(() => reasonsOf(collector, 4, session).filter((r) => r !== 'ok').length >= 10, 5_000, "ping's 10 replies");

      expect(decodedFor(collector, 4, session)).toHaveLength(50);
      const reasons = reasonsOf(collector, 4, session);
      expect(reasons.filter((r) => r === 'ok')).toHaveLength(50);
      // ping's replies; 'bad-magic' only if its identifier happened to equal ours (1 in 65536).
      const foreign = reasons.filter((r) => r !== 'ok');
      expect(foreign.length).toBeGreaterThanOrEqual(10);
      expect(foreign.filter((r) => r !== 'not-ours' && r !== 'bad-magic')).toEqual([]);
      // our requests and ping's: dropped by the kernel for the native socket, read and counted by the fallback
      if (kind === 'native') expect(transport.stats().filtered).toBe(0);
      else expect(transport.stats().filtered).toBeGreaterThanOrEqual(60);
      expect(collector.errors).toEqual([]);
    });

    it('malformed ICMP injected on loopback is handed out and classified with the right reason', async () => {
      const collector = new Collector();
      const transport = await open(kind, 4, collector);
      const session = newSession();
      const ours = icmpIdentifier(session);
      const reply = (s: number, seq: bigint): Buffer => {
        const message = encodeEchoRequest(s, seq, 123n, 64, 4);
        message[0] = 0;
        return withChecksum(message);
      };
      const wrongChecksum = reply(session, 1n);
      wrongChecksum.writeUInt16BE(wrongChecksum.readUInt16BE(ICMP_OFFSET_CHECKSUM) ^ 0x0100, ICMP_OFFSET_CHECKSUM);
      const foreignId = reply((session ^ 0x5a5a) >>> 0, 2n); // our magic, someone else's identifier
      const wrongMagic = reply(session, 3n);
      wrongMagic.writeUInt32BE(0x50494e47, ICMP_OFFSET_MAGIC);
      const forgedSession = reply(session, 4n);
      forgedSession.writeUInt32BE((session ^ 0x0001) >>> 0, ICMP_OFFSET_SESSION); // id no longer session & 0xffff
      const cases: Array<[string, Buffer, string]> = [
        // (Below 8 bytes the kernel hands nothing to raw ICMP sockets: the unit tests cover that.)
        ['truncated after the ICMP header', withChecksum(Buffer.from(reply(session, 5n).subarray(0, 8))), 'short'],
        ['truncated inside our fields', withChecksum(Buffer.from(reply(session, 5n).subarray(0, 24))), 'short'],
        ['wrong checksum', wrongChecksum, 'bad-checksum'],
        ['foreign identifier with our magic', foreignId, 'not-ours'],
        ['our identifier with wrong magic', withChecksum(wrongMagic), 'bad-magic'],
        ['identifier not of the payload session', withChecksum(forgedSession), 'id-mismatch'],
        ['valid reply (control)', reply(session, 6n), 'ok'],
      ];
      injectIcmp(cases.map(([, message]) => message));
      await collector.waitFor(() => cases.every(([, message]) => findRx(collector, message)), 5_000,
        () => `the injected messages; missing: ${cases.filter(([, m]) => !findRx(collector, m)).map(([what]) => what).join(', ')}`);
      for (const [what, message, reason] of cases) {
        const rx = findRx(collector, message);
        const decoded = rx ? decodeEchoReply(rx.data, 4, (id) => id === ours) : undefined;
        expect({ what, reason: decoded && (decoded.ok ? 'ok' : decoded.reason) }).toEqual({ what, reason });
      }
      expect(collector.errors).toEqual([]);
    });
  });

  it.skipIf(noAddon !== null)(`native: dscp, priority and interface apply to the raw socket; non-ICMP schedules are refused${skipNote(noAddon)}`, async () => {
    if (!loaded.ok) return;
    const collector = new Collector();
    const transport = await createNativeIcmpTransport(loaded.addon, {
      family: 4, dscp: 46, priority: 3, interface: 'lo', onError: (event) => collector.errors.push(event.message),
    }, collector.handler);
    toClose.push(transport);
    const base = {
      targets: [{ address: '127.0.0.1', port: 0, family: 4 as const }], seqOffset: 16, t1Offset: 24,
      periodNs: 10_000_000n, startMonoNs: process.hrtime.bigint(), probesPerTarget: 5n,
    };
    const udpProbe = Buffer.alloc(64);
    udpProbe.writeUInt32BE(0x52545042, 0);
    expect(() => transport.start({ ...base, templates: [udpProbe] })).toThrow(/not an ICMP echo request/);
    expect(() => transport.start({ ...base, templates: [encodeEchoRequest(1, 0n, 0n, 64, 6)] })).toThrow(/not an ICMP echo request/);
    expect(() => transport.start({ ...base, templates: [encodeEchoRequest(1, 0n, 0n, 64, 4)], seqOffset: 4 })).toThrow(/after the 8-byte ICMP header/);
    const session = newSession();
    await probe(transport, collector, '127.0.0.1', 4, session, 5);
    expect(decodedFor(collector, 4, session)).toHaveLength(5);
    expect(collector.errors).toEqual([]);
  });

  describe('to an address inside a network namespace the test creates', () => {
    let guest: GuestNamespace | null = null;
    let setupError: string | null = null;

    beforeAll(() => {
      if (execFileSync('ip', ['-4', 'addr'], { encoding: 'utf8' }).includes('10.254.77.')) {
        setupError = '10.254.77.0/30 is already in use on this host';
        return;
      }
      try {
        guest = createGuestNamespace('icmp', 77);
      } catch (err) {
        setupError = `could not create the namespace: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      }
    });
    afterAll(() => guest?.remove());

    it.for(kinds)('%s: 20 probes to 10.254.77.2 → 20 replies from it', async (kind, ctx) => {
      if (setupError) ctx.skip(setupError);
      const collector = new Collector();
      const transport = await open(kind, 4, collector);
      const session = newSession();
      await probe(transport, collector, '10.254.77.2', 4, session, 20);
      const replies = decodedFor(collector, 4, session);
      expect(replies.map((r) => r.decoded.seq).sort((a, b) => Number(a - b))).toEqual([...Array(20).keys()].map(BigInt));
      expect(replies.every((r) => r.rx.address === '10.254.77.2' && r.rx.source === EXPECTED_SOURCE[kind])).toBe(true);
      expect(collector.of('tx').filter((e) => e.source === EXPECTED_SOURCE[kind])).toHaveLength(20);
    });

    it('the namespace, the veth and the guard route are gone after cleanup', (ctx) => {
      if (setupError || !guest) ctx.skip(setupError ?? 'no namespace');
      const made = guest as GuestNamespace;
      expect(execFileSync('ip', ['route', 'show', 'type', 'unreachable'], { encoding: 'utf8' })).toContain('10.254.77.0/30');
      made.remove();
      expect(namespaceExists(made.name)).toBe(false);
      expect(execFileSync('ip', ['-4', 'addr'], { encoding: 'utf8' })).not.toContain('10.254.77.');
      expect(execFileSync('ip', ['route', 'show', 'type', 'unreachable'], { encoding: 'utf8' })).not.toContain('10.254.77.0/30');
    });
  });
});

describe('without CAP_NET_RAW both transports refuse with how to run it', () => {
  const HOW = /needs CAP_NET_RAW: run as root or `setcap cap_net_raw\+ep \$\(readlink -f \$\(which node\)\)`; `--mode udp` needs no privilege/;

  const asNobody = whySkip([!isRoot, 'needs root to switch to uid 65534'], [!hasSetpriv, 'needs setpriv (util-linux)']);
  it.skipIf(asNobody !== null)(`as uid 65534 (a child process; needs root and setpriv to switch user)${skipNote(asNobody)}`, () => {
    const script = `
      const { RawIcmpTransport } = await import(${JSON.stringify(`${repoRoot}controller/transport/raw-icmp-transport.ts`)});
      const { loadNativeAddon } = await import(${JSON.stringify(`${repoRoot}shared/native/native-addon.ts`)});
      const { createNativeIcmpTransport } = await import(${JSON.stringify(`${repoRoot}controller/transport/native-icmp-transport.ts`)});
      const out = [];
      const attempt = async (what, open) => {
        try { const t = await open(); await t.close(); out.push({ what, opened: true }); }
        catch (e) { out.push({ what, name: e.name, code: e.code, message: e.message }); }
      };
      for (const family of [4, 6]) {
        await attempt('raw-socket IPv' + family, () => RawIcmpTransport.open(family, () => {}, () => {}));
        const loaded = loadNativeAddon();
        if (loaded.ok) await attempt('native IPv' + family, () => createNativeIcmpTransport(loaded.addon, { family }, () => {}));
      }
      console.log(JSON.stringify(out));
    `;
    const child = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--',
      process.execPath, '--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const results = JSON.parse(child.stdout) as Array<{ what: string; code?: string; message?: string }>;
    expect(results).toHaveLength(loaded.ok ? 4 : 2);
    for (const result of results) {
      expect(result).toMatchObject({ code: 'RTPROBE_NEEDS_CAP_NET_RAW', message: expect.stringMatching(HOW) });
    }
  });

  const privileged = whySkip([isRoot, 'this process is root'], [hasCapNetRaw(), 'this process has CAP_NET_RAW']);
  it.skipIf(privileged !== null)(`in this process (not root, no CAP_NET_RAW)${skipNote(privileged)}`, async () => {
    await expect(RawIcmpTransport.open(4, () => {}, () => {})).rejects.toThrow(HOW);
    if (loaded.ok) await expect(createNativeIcmpTransport(loaded.addon, { family: 4 }, () => {})).rejects.toThrow(HOW);
  });
});

function withChecksum(message: Buffer): Buffer {
  message.writeUInt16BE(0, ICMP_OFFSET_CHECKSUM);
  message.writeUInt16BE(icmpChecksum(message), ICMP_OFFSET_CHECKSUM);
  return message;
}

function findRx(collector: Collector, message: Buffer): RxEvent | undefined {
  return collector.of('rx').find((rx) => rx.data.equals(message));
}

/** Sends ICMP messages as they are (no checksum fix-up: IPv4 raw sockets leave it alone). */
function injectIcmp(messages: Buffer[]): void {
  const lines = messages.map((m) => JSON.stringify(m.toString('hex'))).join(',');
  // A separate process, so that its raw socket's own reads cannot disturb the transports'.
  const script = `
    const raw = require('raw-socket');
    const socket = raw.createSocket({ protocol: raw.Protocol.ICMP });
    const messages = [${lines}].map((hex) => Buffer.from(hex, 'hex'));
    let left = messages.length;
    for (const m of messages) socket.send(m, 0, m.length, '127.0.0.1', (err) => {
      if (err) { console.error(err.message); process.exitCode = 1; }
      if (--left === 0) socket.close();
    });
  `;
  execFileSync(process.execPath, ['-e', script], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'], timeout: 10_000 });
}

function hasCapNetRaw(): boolean {
  if (!existsSync('/proc/self/status')) return false;
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return capEff !== undefined && (BigInt(`0x${capEff}`) & (1n << 13n)) !== 0n;
}
