import dgram from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProbeGuard } from '../../agent/probe-guard.js';
import { reflectProbe, type ReflectPolicy } from '../../agent/reflect-probe.js';
import { checkAuth, signDatagram } from '../../shared/wire/probe-auth.js';
import { decodeProbe } from '../../shared/wire/probe-codec.js';
import { OFFSET_SEQ, OFFSET_SESSION } from '../../shared/wire/probe-layout.js';
import { describeBytes, type ViolationSample } from './fuzz-tally.js';
import { probeDatagram, probeSize, validProbe } from './probe-inputs.js';
import { Prng } from '../helpers/prng.js';
import { socketDrops } from './udp-drops.js';

/** Every tenth datagram is a valid probe of a session of its own: a known number of answers. */
const PRISTINE_EVERY = 10;
const PRISTINE_SESSION = 0x600d_0000;
/**
 * Sessions of the other datagrams: with the pristine ones, fewer than the agent's
 * --max-sessions (16), so that its per-session bookkeeping does not churn (a new session per
 * probe costs the agent milliseconds: see the report on session churn).
 */
const LIVE_SESSIONS = [1, 2, 3, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff, 0xdead_beef] as const;
const PRISTINE_SESSIONS = 4;
const QUIET_MS = 1_000;
const MAX_WAIT_MS = 10_000;

/** What was sent to an agent's UDP port and what came back, with the decoder's verdict on each datagram. */
export interface UdpSendResult {
  sent: number;
  bytesIn: number;
  /** datagrams reflectProbe accepts (the pristine ones and mutations that stayed valid) */
  validProbes: number;
  pristine: number;
  /** reflectProbe's reason for every other datagram: what the agent must count */
  predicted: Record<string, number>;
  replies: number;
  /** refusal replies: each to a well-formed probe, 64 bytes, never larger than it */
  refusals: number;
  /** session-ends sent (the agent frees a place or counts 'unknown-session') */
  sessionEnds: number;
  bytesOut: number;
  /** replies that match no valid probe sent, or are larger than it, or are not replies */
  badReplies: number;
  /** datagrams the kernel dropped on the agent's socket and on ours (full receive buffers) */
  agentDrops: number;
  ownDrops: number;
  samples: ViolationSample[];
}

/** session, seq and size: what identifies a probe and its reply */
function probeKey(data: Buffer): string | null {
  if (data.length < OFFSET_SEQ + 8) return null;
  return `${data.readUInt32BE(OFFSET_SESSION)}:${data.readBigUInt64BE(OFFSET_SEQ)}:${data.length}`;
}

/** Datagram `index` of the live run: a pristine valid probe, or anything probeDatagram makes. */
export function liveDatagram(seed: number, index: number): Buffer {
  const rng = Prng.forInput(seed, 'agent-udp', index);
  if (index % PRISTINE_EVERY !== 0) return probeDatagram(rng, LIVE_SESSIONS);
  return validProbe(rng, probeSize(rng), PRISTINE_SESSION + ((index / PRISTINE_EVERY) % PRISTINE_SESSIONS), BigInt(index));
}

/** The key of the keyed live agent (--key-file): fixed, the inputs depend on the seed only. */
export const LIVE_KEY = Buffer.from('rtprobe-fuzz-live-key-0123456789');

/**
 * Datagram `index` for an agent with a key: a third signed as they are, a third signed and
 * then one byte flipped (a forged or damaged tag, or a datagram the decoder rejects), a third
 * unsigned.
 */
export function keyedLiveDatagram(seed: number, index: number): Buffer {
  const datagram = Buffer.from(liveDatagram(seed, index));
  const rng = Prng.forInput(seed, 'agent-udp-keyed', index);
  const kind = index % 3;
  if (kind === 2 || datagram.length < 64) return datagram;
  signDatagram(datagram, LIVE_KEY);
  if (kind === 1) {
    const at = rng.int(datagram.length);
    datagram[at] = (datagram[at] ?? 0) ^ (1 << rng.int(8));
  }
  return datagram;
}

/** The decoder's verdict with the agent's key; guard refusals are judged apart (live-checks.ts). */
function keyedPolicy(key: Buffer): ReflectPolicy {
  return {
    key, guard: new ProbeGuard({ maxRatePerS: null, maxSessions: Number.MAX_SAFE_INTEGER, replayWindow: false }),
    sourceAddress: '', sourcePort: 0, nowMs: 0,
  };
}

/** session and seq: what a refusal shares with its probe (it is 64 bytes whatever the probe's size) */
function refusalKey(data: Buffer): string | null {
  if (data.length < OFFSET_SEQ + 8) return null;
  return `${data.readUInt32BE(OFFSET_SESSION)}:${data.readBigUInt64BE(OFFSET_SEQ)}`;
}

/**
 * Sends `count` datagrams to 127.0.0.1:port at `rate` a second (an absolute schedule), counts
 * the replies and their sizes, and waits until every valid probe is answered or the socket has
 * been quiet for a second.
 */
export async function sendUdpFuzz(port: number, seed: number, count: number, rate: number, authKey: Buffer | null = null): Promise<UdpSendResult> {
  const datagramAt = authKey === null ? liveDatagram : keyedLiveDatagram;
  const policy = authKey === null ? undefined : keyedPolicy(authKey);
  const result: UdpSendResult = {
    sent: 0, bytesIn: 0, validProbes: 0, pristine: 0, predicted: {}, replies: 0, refusals: 0, sessionEnds: 0, bytesOut: 0,
    badReplies: 0, agentDrops: 0, ownDrops: 0, samples: [],
  };
  /** the smallest well-formed probe sent per session:seq: what a refusal may answer */
  const refusable = new Map<string, number>();
  const expected = new Map<string, number>();
  const sentIndex = new Map<string, number>();
  const socket = dgram.createSocket('udp4');
  let lastReplyMs = performance.now();
  const badReply = (reply: Buffer, detail: string): void => {
    result.badReplies++;
    const key = probeKey(reply);
    const index = key === null ? -1 : sentIndex.get(key) ?? -1;
    if (result.samples.length < 5) {
      const request = index >= 0 ? ` to datagram #${index} (${datagramAt(seed, index).toString('hex').slice(0, 200)})` : '';
      result.samples.push({ invariant: 'replies-only-to-probes', index, detail: `${detail}${request}`, ...describeBytes(reply, 'the reply') });
    }
  };
  socket.on('message', (reply) => {
    lastReplyMs = performance.now();
    result.bytesOut += reply.length;
    const decoded = decodeProbe(reply);
    if (decoded.ok && decoded.packet.type === 'refusal') {
      result.refusals++;
      const probeBytes = refusable.get(refusalKey(reply) ?? '');
      if (probeBytes === undefined) return badReply(reply, 'a refusal of a datagram that is not a probe');
      if (reply.length > probeBytes) return badReply(reply, `a refusal of ${reply.length} bytes to a probe of ${probeBytes}`);
      const forged = authKey === null ? null : checkAuth(reply, authKey);
      if (forged !== null) return badReply(reply, `a refusal not signed with the key (${forged})`);
      return;
    }
    result.replies++;
    if (!decoded.ok || decoded.packet.type !== 'reply') return badReply(reply, `not a reply (${decoded.ok ? decoded.packet.type : decoded.reason})`);
    const forged = authKey === null ? null : checkAuth(reply, authKey);
    if (forged !== null) return badReply(reply, `a reply not signed with the key (${forged})`);
    const replyKey = probeKey(reply) ?? '';
    const left = expected.get(replyKey) ?? 0;
    if (left === 0) return badReply(reply, 'a reply to a datagram the decoder rejects');
    expected.set(replyKey, left - 1);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const startMs = performance.now();
  for (let index = 0; index < count; index++) {
    const waitMs = startMs + (index * 1000) / rate - performance.now();
    if (waitMs >= 1) await sleep(waitMs);
    const datagram = datagramAt(seed, index);
    const verdict = reflectProbe(Buffer.from(datagram), 0n, 'user', 0n, 'user', policy);
    const key = probeKey(datagram);
    if (key !== null && !sentIndex.has(key)) sentIndex.set(key, index);
    const oracle = decodeProbe(datagram);
    if (oracle.ok && oracle.packet.type === 'probe') {
      const at = refusalKey(datagram) ?? '';
      refusable.set(at, Math.min(refusable.get(at) ?? Infinity, datagram.length));
    }
    // A genuine session-end frees a place or, when the agent's guard does not see its sender
    // holding the session (its state is not this prediction's), counts 'unknown-session'.
    const sessionEnd = oracle.ok && oracle.packet.type === 'session-end' &&
      (!verdict.ok && (verdict.ended || verdict.reason === 'unknown-session'));
    if (sessionEnd) {
      result.sessionEnds++;
    } else if (verdict.ok && key !== null) {
      result.validProbes++;
      if (index % PRISTINE_EVERY === 0) result.pristine++;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    } else if (!verdict.ok && !verdict.ended) {
      result.predicted[verdict.reason] = (result.predicted[verdict.reason] ?? 0) + 1;
    }
    await new Promise<void>((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    result.sent++;
    result.bytesIn += datagram.length;
  }
  const endMs = performance.now() + MAX_WAIT_MS;
  while (result.replies < result.validProbes && performance.now() - lastReplyMs < QUIET_MS && performance.now() < endMs) await sleep(50);
  // A moment more for replies that should not come (to rejected datagrams) to show up.
  await sleep(200);
  result.agentDrops = socketDrops(port) ?? 0;
  result.ownDrops = socketDrops(socket.address().port) ?? 0;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return result;
}
