import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { StatsStream, type StatsStreamOptions } from '../../agent/stats-stream.js';
import { AgentLink, type AgentLinkEvent, type AgentLinkOptions } from '../../controller/agent-stream/agent-link.js';
import { decodeHistogram, encodeHistogram } from '../../shared/histogram/histogram-transport.js';
import { LatencyHistogram } from '../../shared/histogram/latency-histogram.js';
import {
  MAX_CLIENT_MESSAGE_BYTES, STREAM_PATH,
  type EncodedHistogram, type HelloMessage, type IntervalMessage,
} from '../../shared/messages/agent-messages.js';
import { waitFor } from '../helpers/wait-for.js';

/** waitFor's bound here: only a failing test reaches it, nothing asserts on time */
const SOON = { timeoutMs: 10_000, everyMs: 5 };

const TOKEN = 'test-token-5f1c';
const HELLO: StatsStreamOptions['hello'] = {
  agent_version: '0.1.0-test', instance: 'instance-a',
  clocks: { t2: 'user', t3: 'user', turnaround: 'user' },
  clock_sync: { mode: 'none', error_ns: null }, interval_ms: 1000, replay_ms: 60_000,
};

/** Everything a test opened, closed after it whatever happened. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startStream(options: Partial<StatsStreamOptions> = {}): Promise<StatsStream> {
  const stream = await StatsStream.listen({ host: '127.0.0.1', port: 0, token: TOKEN, replayMs: 60_000, intervalMs: 1000, hello: HELLO, ...options });
  cleanups.push(() => stream.close());
  return stream;
}

function interval(id: number, session = 1, encoded = 'HISTFAAAABx4nJNpmSzMwMDAxMDAwMDAAAAVqgEy'): IntervalMessage {
  const histogram: EncodedHistogram = { count: 1, max_ns: 1000, encoded };
  return {
    type: 'interval', v: 1, id, session, peer: '127.0.0.1:40000', start_ms: 1000 * (id - 1), end_ms: 1000 * id,
    histograms: { turnaround: histogram }, counts: { received: 1, gaps: 0, reordered: 0, duplicates: 0, rejected: {} },
  };
}


type Received = Record<string, unknown> & { type: string };

/** A raw `ws` client that keeps every message and its close code. */
interface RawClient {
  ws: WebSocket;
  messages: Received[];
  closeCode: number | null;
  send(value: unknown): void;
  next(type: string, after?: number): Promise<Received>;
}

async function openRaw(port: number, token: string | null = TOKEN): Promise<RawClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${STREAM_PATH}`, { headers: token === null ? {} : { Authorization: `Bearer ${token}` } });
  const client: RawClient = {
    ws, messages: [], closeCode: null,
    send: (value) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
    next: async (type, after = 0) => {
      await waitFor(() => client.messages.slice(after).some((m) => m.type === type), { what: `a '${type}' message`, ...SOON });
      return client.messages.slice(after).find((m) => m.type === type) as Received;
    },
  };
  ws.on('message', (data) => client.messages.push(JSON.parse(data.toString()) as Received));
  ws.on('close', (code) => { client.closeCode = code; });
  ws.on('error', () => {});
  cleanups.push(() => ws.terminate());
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  await client.next('hello');
  return client;
}

/** Attempts a WebSocket handshake; reports the HTTP status and whether a socket ever opened. */
function refusal(port: number, headers: Record<string, string>, path = STREAM_PATH): Promise<{ status: number; wwwAuthenticate: string | undefined; opened: boolean }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
    let opened = false;
    let status = 0;
    let wwwAuthenticate: string | undefined;
    ws.on('open', () => { opened = true; ws.terminate(); });
    ws.on('unexpected-response', (_req, res) => {
      status = res.statusCode ?? 0;
      wwwAuthenticate = res.headers['www-authenticate'];
      ws.terminate();
    });
    ws.on('error', () => {});
    ws.on('close', () => resolve({ status, wwwAuthenticate, opened }));
  });
}

function startLink(port: number, options: Partial<AgentLinkOptions> = {}) {
  const delivered: IntervalMessage[] = [];
  const events: AgentLinkEvent[] = [];
  const link = new AgentLink({
    url: `ws://127.0.0.1:${port}${STREAM_PATH}`, token: TOKEN, session: 1, minBackoffMs: 10, maxBackoffMs: 100,
    onInterval: (m) => delivered.push(m), onEvent: (e) => events.push(e), ...options,
  });
  cleanups.push(() => link.close());
  link.start();
  return { link, delivered, events };
}

/** A TCP relay on loopback whose connections the test can cut, and whose door it can shut. */
async function startTcpRelay(upstreamPort: number) {
  const pairs = new Set<net.Socket>();
  const relay = { blocked: false, port: 0, cut: () => { for (const s of pairs) s.destroy(); } };
  const server = net.createServer((front) => {
    if (relay.blocked) return front.destroy();
    const back = net.connect(upstreamPort, '127.0.0.1');
    for (const [a, b] of [[front, back], [back, front]] as const) {
      pairs.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => { pairs.delete(a); b.destroy(); });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.port = (server.address() as net.AddressInfo).port;
  cleanups.push(() => new Promise<void>((resolve) => { relay.cut(); server.close(() => resolve()); }));
  return relay;
}

describe('StatsStream handshake', () => {
  it('accepts the bearer token and says hello with an empty replay range', async () => {
    const stream = await startStream();
    const client = await openRaw(stream.port);
    expect(client.messages[0]).toMatchObject({ type: 'hello', v: 1, instance: 'instance-a', first_id: 0, last_id: 0, replay_ms: 60_000 });
    expect(stream.stats()).toMatchObject({ clients: 1, subscribers: 0, authFailures: 0 });
  });

  it('answers a wrong or missing token with 401 + WWW-Authenticate, never an open socket', async () => {
    const stream = await startStream();
    const attempts: Record<string, string>[] = [{ Authorization: 'Bearer wrong' }, { Authorization: `Bearer ${TOKEN}x` }, { Authorization: TOKEN }, {}];
    for (const headers of attempts) {
      expect(await refusal(stream.port, headers)).toEqual({ status: 401, wwwAuthenticate: 'Bearer', opened: false });
    }
    expect(stream.stats()).toMatchObject({ authFailures: 4, clients: 0 });
  });

  it('needs no token with --insecure-no-auth (token null)', async () => {
    const stream = await startStream({ token: null });
    const client = await openRaw(stream.port, null);
    expect(client.messages[0]?.type).toBe('hello');
  });

  it('refuses any other path with 404, and plain HTTP with 426 / 404', async () => {
    const stream = await startStream();
    expect(await refusal(stream.port, { Authorization: `Bearer ${TOKEN}` }, '/v1/other')).toEqual({ status: 404, wwwAuthenticate: undefined, opened: false });
    const get = (path: string) => new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: stream.port, path }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
    });
    expect(await get(STREAM_PATH)).toBe(426);
    expect(await get('/')).toBe(404);
  });
});

describe('StatsStream to AgentLink', () => {
  it('delivers interval histograms that decode to the recorded count and max', async () => {
    const stream = await startStream();
    const { link, delivered } = startLink(stream.port);
    const recorded: Record<'turnaround' | 'ipdv', LatencyHistogram> = { turnaround: new LatencyHistogram(), ipdv: new LatencyHistogram() };
    for (let i = 1; i <= 500; i++) {
      recorded.turnaround.record(20_000 + i * 137);
      if (i % 2 === 0) recorded.ipdv.record(1_000 + i * 3_001);
    }
    recorded.turnaround.record(7_654_321); // one outlier: the max must survive the trip
    const encode = (h: LatencyHistogram): EncodedHistogram => ({ count: h.count, max_ns: h.maxNs, encoded: encodeHistogram(h.histogram) });
    stream.publish({ ...interval(1), histograms: { turnaround: encode(recorded.turnaround), ipdv: encode(recorded.ipdv) } });
    await waitFor(() => delivered.length === 1, { what: 'the interval', ...SOON });
    for (const tag of ['turnaround', 'ipdv'] as const) {
      const original = recorded[tag];
      const sent = delivered[0]?.histograms[tag];
      expect(sent?.encoded, tag).toBe(encodeHistogram(original.histogram));
      const decoded = decodeHistogram(sent?.encoded ?? '');
      if (!decoded.ok) throw new Error(decoded.reason);
      expect(decoded.histogram.totalCount, tag).toBe(original.count);
      expect(sent?.count, tag).toBe(original.count);
      // V2 carries buckets, not the exact max: the decoded max is the top of the max's bucket
      // (3 significant digits); the exact value travels beside it as max_ns.
      expect(sent?.max_ns, tag).toBe(original.maxNs);
      expect(decoded.histogram.getValueAtPercentile(100), tag).toBe(original.histogram.getValueAtPercentile(100));
      expect(Math.abs(decoded.histogram.maxValue - original.maxNs), tag).toBeLessThanOrEqual(original.maxNs / 1000);
    }
    expect(link.stats()).toMatchObject({ connects: 1, intervals: 1, duplicatesIgnored: 0, badMessages: 0 });
  });

  it('after a dropped connection replays exactly the missed intervals of its session: none lost, none doubled', async () => {
    const stream = await startStream();
    const relay = await startTcpRelay(stream.port);
    const { link, delivered, events } = startLink(relay.port);
    let id = 0;
    const publish = (count: number) => {
      for (let i = 0; i < count; i++) {
        stream.publish(interval(++id, 1));
        stream.publish(interval(++id, 2)); // another controller's session: never delivered here
      }
    };
    await waitFor(() => link.stats().connects === 1 && stream.stats().subscribers === 1, { what: 'a subscriber', ...SOON });
    publish(3);
    await waitFor(() => delivered.length === 3, { what: '3 intervals', ...SOON });
    relay.blocked = true;
    relay.cut();
    await waitFor(() => events.some((e) => e.kind === 'disconnected'), { what: 'the disconnect', ...SOON });
    publish(4); // while the link cannot connect
    await waitFor(() => stream.stats().clients === 0, { what: 'the agent to see it gone', ...SOON });
    relay.blocked = false;
    await waitFor(() => link.stats().connects === 2, { what: 'the reconnect', ...SOON });
    publish(3);
    await waitFor(() => delivered.length >= 10, { what: '10 intervals', ...SOON });
    expect(await link.flush(2_000)).toBe(true); // everything published has been sent
    expect(delivered.map((m) => m.id)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(delivered.every((m) => m.session === 1)).toBe(true);
    expect(link.stats()).toMatchObject({ connects: 2, disconnects: 1, intervals: 10, duplicatesIgnored: 0, badMessages: 0 });
    expect(stream.stats().replayed).toBeGreaterThanOrEqual(4);
  });

  it('flush: the agent publishes the open interval, then answers; the link has it when flush resolves', async () => {
    const stream = await startStream();
    let id = 0;
    const flushed: number[] = [];
    stream.onFlush((session) => {
      flushed.push(session);
      stream.publish(interval(++id, session));
    });
    const { link, delivered } = startLink(stream.port, { session: 7 });
    // its first connection is still being made: the flush waits for it (a short run's final flush)
    expect(stream.stats().subscribers).toBe(0);
    expect(await link.flush(2_000)).toBe(true);
    expect(delivered.map((m) => m.id)).toEqual([1]);
    expect(await link.flush(2_000)).toBe(true);
    expect(delivered.map((m) => m.id)).toEqual([1, 2]);
    expect(flushed).toEqual([7, 7]);
  });

  it('flush with a handler that waits (the reflector\'s last batch): `flushed` comes after what it publishes, a failing one is counted', async () => {
    const stream = await startStream();
    let id = 0;
    let failNext = false;
    stream.onFlush(async (session) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      if (failNext) throw new Error('the reflector is gone');
      stream.publish(interval(++id, session));
    });
    const { link, delivered } = startLink(stream.port, { session: 7 });
    expect(await link.flush(2_000)).toBe(true);
    expect(delivered.map((m) => m.id)).toEqual([1]);
    const [a, b] = await Promise.all([link.flush(2_000), link.flush(2_000)]);
    expect([a, b]).toEqual([true, true]);
    expect(delivered.map((m) => m.id)).toEqual([1, 2, 3]);
    failNext = true;
    expect(await link.flush(2_000)).toBe(true); // answered: nothing more was published
    expect(delivered.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(stream.stats().errors['internal-error']).toBe(1);
  });

  it('a wrong token: 401 events and retries, never a connection', async () => {
    const stream = await startStream();
    const { link, events } = startLink(stream.port, { token: 'wrong', maxBackoffMs: 20 });
    await waitFor(() => events.filter((e) => e.kind === 'disconnected').length >= 2, { what: 'two refusals', ...SOON });
    expect(events.filter((e) => e.kind === 'disconnected')[0]?.detail).toBe('401 unauthorized: check --agent-token-file');
    expect(link.stats().connects).toBe(0);
    expect(stream.stats().authFailures).toBeGreaterThanOrEqual(2);
    // a link whose attempts failed is not waited on: its flush answers at once
    const startedMs = performance.now();
    expect(await link.flush(2_000)).toBe(false);
    expect(performance.now() - startedMs).toBeLessThan(500);
  });
});

describe('AgentLink against a scripted agent', () => {
  it('ignores replayed duplicates and bad messages, resumes after the last id, restarts ids for a new instance', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise<void>((resolve) => { for (const c of server.clients) c.terminate(); server.close(() => resolve()); }));
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const subscribes: unknown[] = [];
    const scripts: ((ws: WebSocket) => void)[] = [
      (ws) => {
        for (const i of [1, 2, 3, 2, 3, 4]) ws.send(JSON.stringify(interval(i)));
        ws.send('{not json');
        ws.send(JSON.stringify(interval(5, 2))); // not our session
        ws.send(JSON.stringify({ type: 'dropped', v: 1, count: 3, total: 3 }));
      },
      (ws) => ws.send(JSON.stringify(interval(5))),
      (ws) => ws.send(JSON.stringify(interval(1))), // restarted agent: id 1 is new again
    ];
    const instances = ['a', 'a', 'b'];
    let connection = 0;
    server.on('connection', (ws) => {
      const n = connection++;
      const hello: HelloMessage = { type: 'hello', v: 1, ...HELLO, instance: instances[n] ?? 'b', first_id: 0, last_id: 0 };
      ws.send(JSON.stringify(hello));
      ws.on('message', (data) => {
        subscribes.push(JSON.parse(data.toString()));
        scripts[n]?.(ws);
      });
    });
    const { port } = server.address() as net.AddressInfo;
    const { link, delivered, events } = startLink(port);
    const dropAfter = async (ready: () => boolean) => {
      await waitFor(ready, { what: 'the scripted messages', ...SOON });
      for (const c of server.clients) c.terminate();
    };
    // The dropped notice is the script's last message: once it is in, all of it is.
    await dropAfter(() => link.stats().droppedByAgent === 3);
    await dropAfter(() => delivered.length === 5);
    await waitFor(() => delivered.length === 6, { what: '6 intervals', ...SOON });
    expect(delivered.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 1]);
    expect(subscribes).toEqual([
      { type: 'subscribe', v: 1, session: 1, after_id: 0 },
      { type: 'subscribe', v: 1, session: 1, after_id: 4 },
      { type: 'subscribe', v: 1, session: 1, after_id: 0 },
    ]);
    expect(link.stats()).toMatchObject({ connects: 3, disconnects: 2, intervals: 6, duplicatesIgnored: 2, badMessages: 2, droppedByAgent: 3 });
    // instance a never ended the session: what it had not sent is lost, and the link says so once
    expect(events.filter((e) => e.kind === 'restarted')).toHaveLength(1);
  });

  it('a new instance after the old one ended the session (a clean restart) is no loss: no restarted event', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise<void>((resolve) => { for (const c of server.clients) c.terminate(); server.close(() => resolve()); }));
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    let connection = 0;
    server.on('connection', (ws) => {
      const n = connection++;
      ws.send(JSON.stringify({ type: 'hello', v: 1, ...HELLO, instance: n === 0 ? 'a' : 'b', first_id: 0, last_id: 0 }));
      ws.on('message', () => {
        ws.send(JSON.stringify(interval(1)));
        if (n === 0) ws.send(JSON.stringify({ type: 'session-end', v: 1, id: 2, session: 1, reason: 'agent-exit' }));
      });
    });
    const { port } = server.address() as net.AddressInfo;
    const { delivered, events } = startLink(port, { onSessionEnd: () => { for (const c of server.clients) c.terminate(); } });
    await waitFor(() => delivered.length === 2, { what: 'an interval from each instance', ...SOON });
    expect(events.filter((e) => e.kind === 'restarted')).toEqual([]);
  });
});

describe('StatsStream replay ring', () => {
  it('keeps only what is within replayMs and maxReplayBytes', async () => {
    let nowMs = 0;
    const stream = await startStream({ replayMs: 2_500, nowMs: () => nowMs });
    for (let id = 1; id <= 5; id++, nowMs += 1_000) stream.publish(interval(id));
    nowMs -= 1_000; // published at 0..4000 ms, now 4000: ids 3..5 are within 2.5 s
    const client = await openRaw(stream.port);
    expect(client.messages[0]).toMatchObject({ first_id: 3, last_id: 5 });
    client.send({ type: 'subscribe', v: 1, after_id: 0 });
    await waitFor(() => client.messages.filter((m) => m.type === 'interval').length === 3, { what: 'the replay', ...SOON });
    expect(client.messages.filter((m) => m.type === 'interval').map((m) => m.id)).toEqual([3, 4, 5]);

    const small = await startStream({ maxReplayBytes: 3 * JSON.stringify(interval(105)).length }); // ids 101.. serialize alike
    for (let id = 100; id < 110; id++) small.publish(interval(id));
    expect((await openRaw(small.port)).messages[0]).toMatchObject({ first_id: 107, last_id: 109 });
  });

  it('refuses ids that do not increase (the recorder numbers them)', async () => {
    const stream = await startStream();
    stream.publish(interval(5));
    expect(() => stream.publish(interval(5))).toThrow(RangeError);
    expect(() => stream.publish(interval(4))).toThrow(RangeError);
  });
});

describe('StatsStream backpressure', () => {
  it('a subscriber that does not read holds at most maxBufferedBytes + one message; it is told what it missed', async () => {
    const maxBufferedBytes = 256 * 1024;
    const stream = await startStream({ maxBufferedBytes, maxReplayBytes: 1 << 20 });
    const client = await openRaw(stream.port);
    client.send({ type: 'subscribe', v: 1, session: 1 });
    await waitFor(() => stream.stats().subscribers === 1, { what: 'the subscription', ...SOON });
    const socket = (client.ws as unknown as { _socket: net.Socket })._socket;
    socket.pause();
    const big = 'A'.repeat(64 * 1024);
    const count = 500; // ~32 MB: far more than loopback's socket buffers hold
    for (let id = 1; id <= count; id++) stream.publish(interval(id, 1, big));
    const messageBytes = JSON.stringify(interval(count, 1, big)).length;
    const stats = stream.stats();
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.maxClientBufferedBytes).toBeLessThanOrEqual(maxBufferedBytes + messageBytes + 1024);

    socket.resume();
    client.send({ type: 'flush', v: 1, session: 1 }); // answered only after it caught up
    await client.next('flushed');
    const notices = client.messages.filter((m) => m.type === 'dropped');
    const ids = client.messages.filter((m) => m.type === 'interval').map((m) => m.id as number);
    expect(notices.length).toBeGreaterThan(0);
    expect(notices.reduce((sum, m) => sum + (m.count as number), 0)).toBe(stream.stats().dropped);
    expect(notices.at(-1)?.total).toBe(stream.stats().dropped);
    // Every interval either arrived once, in order, or was counted as dropped.
    expect(ids.every((id, i) => i === 0 || id > (ids[i - 1] ?? 0))).toBe(true);
    expect(ids.length + stream.stats().dropped).toBe(count);
    expect(client.messages.at(-1)).toMatchObject({ type: 'flushed', session: 1, last_id: count });
  });
});

describe('StatsStream bad client messages', () => {
  it('answers each with an error of the right code, counts it, and keeps the connection', async () => {
    const stream = await startStream();
    const client = await openRaw(stream.port);
    const bad: [unknown, string][] = [
      ['{not json', 'bad-json'], ['[1,2]', 'not-object'], [{ type: 'subscribe' }, 'bad-version'],
      [{ type: 'subscribe', v: 2 }, 'bad-version'], [{ type: 'unsubscribe', v: 1 }, 'unknown-type'],
      [{ type: 'flush', v: 1, session: -1 }, 'bad-field'], [{ type: 'subscribe', v: 1, after_id: 'x' }, 'bad-field'],
    ];
    for (const [message] of bad) client.send(message);
    client.ws.send(Buffer.from('{}'), { binary: true });
    await waitFor(() => client.messages.filter((m) => m.type === 'error').length === bad.length + 1, { what: 'the errors', ...SOON });
    const errors = client.messages.filter((m) => m.type === 'error');
    expect(errors.map((m) => m.code)).toEqual([...bad.map(([, code]) => code), 'bad-json']);
    expect(errors.every((m) => typeof m.message === 'string' && (m.message as string).length > 10)).toBe(true);
    expect(stream.stats().errors).toEqual({ 'bad-json': 2, 'not-object': 1, 'bad-version': 2, 'unknown-type': 1, 'bad-field': 2 });
    client.send({ type: 'flush', v: 1, session: 3 });
    expect(await client.next('flushed')).toMatchObject({ session: 3, last_id: 0 });
    expect(client.closeCode).toBeNull();
  });

  it('closes with 1008 after more than 20 bad messages', async () => {
    const stream = await startStream();
    const client = await openRaw(stream.port);
    for (let i = 0; i < 25; i++) client.send('nope');
    await waitFor(() => client.closeCode !== null, { what: 'the close', ...SOON });
    expect(client.closeCode).toBe(1008);
    expect(client.messages.filter((m) => m.type === 'error')).toHaveLength(20);
    expect(stream.stats()).toMatchObject({ floodCloses: 1, errors: { 'bad-json': 21 } });
  });

  it('closes with 1008 a client sending more than 200 messages in a second, even valid ones', async () => {
    const stream = await startStream();
    const client = await openRaw(stream.port);
    for (let i = 0; i < 300; i++) client.send({ type: 'flush', v: 1, session: 1 });
    await waitFor(() => client.closeCode !== null, { what: 'the close', ...SOON });
    expect(client.closeCode).toBe(1008);
    expect(stream.stats()).toMatchObject({ floodCloses: 1, errors: {} });
  });

  it('closes an oversized frame with 1009 and counts it as too-large', async () => {
    const stream = await startStream();
    const client = await openRaw(stream.port);
    client.send('x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1));
    await waitFor(() => client.closeCode !== null, { what: 'the close', ...SOON });
    expect(client.closeCode).toBe(1009);
    await waitFor(() => stream.stats().clients === 0, { what: 'the server side to close', ...SOON });
    expect(stream.stats().errors).toEqual({ 'too-large': 1 });
  });
});
