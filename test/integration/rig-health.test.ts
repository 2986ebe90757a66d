/**
 * The rig reports on itself. Loss this machine makes is told apart from the path's: when a
 * process does not read its socket in time, the kernel drops datagrams at the full receive
 * buffer and counts them (SO_RXQ_OVFL). The tests stop a real `rtprobe run` / `rtprobe agent`
 * with SIGSTOP, flood its socket on loopback, let it go on, and check the count it reports
 * against the kernel's own for that socket (/proc/net/udp "drops"). And when JavaScript falls
 * behind its socket thread, the controller says by how much (a batch's wait for delivery), and
 * past a bound of batches held the thread pauses instead of filling memory.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { sendDatagrams, startAgent } from '../helpers/cli.js';
import { lastStatusReceived, spawnCli } from '../helpers/spawn-cli.js';
import { udpSocketsOf } from '../helpers/proc-udp.js';
import { waitFor } from '../helpers/wait-for.js';
import { loadNativeAddon } from '../../shared/native/native-addon.js';
import { createNativeReflector } from '../../agent/native-reflector-socket.js';
import { createNativeTransport } from '../../controller/transport/native-transport.js';
import { encodeProbe } from '../../shared/wire/probe-codec.js';
import { OFFSET_SEQ, OFFSET_T1 } from '../../shared/wire/probe-layout.js';
import { skipNote } from '../helpers/skip.js';

const native = loadNativeAddon();
const skipReason = native.ok ? null : `the native addon is not built (${native.reason})`;
/** more than a 16 MiB receive buffer (doubled by the kernel) holds of 4 KiB datagrams (~5 KiB each in its budget) */
const FLOOD = 40_000;
const junk = Buffer.alloc(4096, 0x5a);

/** Stops `pid`, floods its UDP socket on `port`, lets it go on; the kernel's drop count after. */
async function floodWhileStopped(pid: number, port: number): Promise<number> {
  process.kill(pid, 'SIGSTOP');
  try {
    await sendDatagrams(port, Array.from({ length: FLOOD }, () => junk));
    // loopback delivers from a per-CPU backlog: let it reach the socket (or its drop) while stopped
    await sleep(300);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  return udpSocketsOf(pid).find((s) => s.port === port)?.drops ?? -1;
}

describe.skipIf(skipReason !== null)(`receive-buffer drops are counted and reported (real processes, loopback)${skipNote(skipReason)}`, () => {
  it('rtprobe run: the drops at its socket, exactly as the kernel counts them, in the JSON and a warning', async () => {
    const agent = await startAgent();
    const run = spawnCli(['run', '--target', `g=127.0.0.1:${agent.port}`, '--rate', '100', '--duration', '4s', '--json', '-']);
    try {
      await waitFor(() => lastStatusReceived(run.stderr()) >= 50, { what: '50 answered probes', timeoutMs: 20_000 });
      const pid = run.child.pid ?? 0;
      const port = udpSocketsOf(pid)[0]?.port ?? 0;
      expect(port).toBeGreaterThan(0);
      const kernelDrops = await floodWhileStopped(pid, port);
      // the replies that go on arriving after the flood carry the socket's counter
      await waitFor(() => lastStatusReceived(run.stderr()) >= 150, { what: '100 more answered probes', timeoutMs: 20_000 });
      // (a few of the first replies after it may still meet a full buffer: the kernel counts those too)
      const kernelDropsLater = udpSocketsOf(pid).find((s) => s.port === port)?.drops ?? -1;
      expect(await run.exited, run.stderr()).toBe(0);
      const report = JSON.parse(run.stdout());
      const sender = report.provenance.senders[0];
      console.log(`run: flooded ${FLOOD} datagrams while stopped: kernel drops ${kernelDrops} (later ${kernelDropsLater}), reported ${sender.receive_buffer_drops}`);
      expect(kernelDrops).toBeGreaterThan(1000);
      expect(sender.receive_buffer_drops).toBe(kernelDropsLater);
      expect(run.stderr()).toContain(`warning: udp IPv4 socket: ${kernelDropsLater} replies dropped by its full receive buffer`);
      expect(run.stderr()).toMatch(new RegExp(`^sender udp IPv4, 1 target: one wake-up a slot, no spin: it sleeps to each deadline \\(its wake-ups came [\\d.]+ µs late at the median, up to [\\d.]+ µs late at p90, of the last 64, CLOCK_MONOTONIC\\); ${kernelDropsLater} replies dropped`, 'm'));
      // the junk that fit in the buffer was read and rejected, none of it crashed the run
      expect(report.targets[0].received).toBeGreaterThan(150);
    } finally {
      run.child.kill('SIGKILL');
      await agent.stop();
    }
  });

  it('rtprobe agent: the drops at its reflector socket, exactly as the kernel counts them, on its last lines', async () => {
    const agent = await startAgent();
    const pid = agent.child.pid ?? 0;
    let stopped: Awaited<ReturnType<typeof agent.stop>> | null = null;
    try {
      const kernelDrops = await floodWhileStopped(pid, agent.port);
      const drained = (): boolean => udpSocketsOf(pid).find((s) => s.port === agent.port)?.queuedBytes === 0;
      await waitFor(drained, { what: 'the agent to read its queue', timeoutMs: 10_000 });
      // one more datagram, into room, carries the socket's counter to the reflector
      await sendDatagrams(agent.port, [junk]);
      await waitFor(drained, { what: 'the agent to read the last one', timeoutMs: 10_000 });
      await sleep(200); // and to take the last batch's counts
      stopped = await agent.stop();
      console.log(`agent: flooded ${FLOOD} datagrams while stopped: kernel drops ${kernelDrops}; ${stopped.stdout.split('\n')[1] ?? ''}`);
      expect(kernelDrops).toBeGreaterThan(1000);
      expect(stopped.stdout).toContain(`dropped unread by its full receive buffer ${kernelDrops} (this machine's loss, not the path's)`);
    } finally {
      if (stopped === null) await agent.stop();
    }
  });

  it("rtprobe run --agent-ws: the agent socket's drops reach the controller's report over the stream, as the guest's loss", async () => {
    const agent = await startAgent(['--ws', '127.0.0.1:0', '--insecure-no-auth', '--stream-interval', '500ms']);
    const run = spawnCli(['run', '--target', `g=127.0.0.1:${agent.port}`, '--agent-ws', agent.streamUrl ?? '', '--rate', '100',
      '--duration', '4s', '--json', '-']);
    try {
      await waitFor(() => lastStatusReceived(run.stderr()) >= 50, { what: '50 answered probes', timeoutMs: 20_000 });
      const pid = agent.child.pid ?? 0;
      const kernelDrops = await floodWhileStopped(pid, agent.port);
      expect(await run.exited, run.stderr()).toBe(0);
      const report = JSON.parse(run.stdout());
      // (the agent reads the junk that fit before the probes after it: counted by the next datagram)
      const kernelDropsLater = udpSocketsOf(pid).find((s) => s.port === agent.port)?.drops ?? -1;
      console.log(`agent flooded while stopped: kernel drops ${kernelDrops} (later ${kernelDropsLater}), the controller's report ${report.targets[0].agent.receive_buffer_drops}`);
      expect(kernelDrops).toBeGreaterThan(1000);
      expect(report.targets[0].agent.receive_buffer_drops).toBe(kernelDropsLater);
      expect(run.stderr()).toContain(`the guest's own loss, not the path's: the agent's kernel dropped ${kernelDropsLater} probes unread`);
    } finally {
      run.child.kill('SIGKILL');
      await agent.stop();
    }
  });

  it('JavaScript blocked for 1.5 s while the thread goes on: health() says how far behind it got (near 0 before), nothing lost', async () => {
    if (!native.ok) throw new Error(native.reason);
    const reflector = await createNativeReflector(native.addon, { bindAddress: '127.0.0.1', port: 0, family: 4, timestamps: 'kernel' }, () => {});
    let replies = 0;
    const transport = await createNativeTransport(native.addon, { bindAddress: '127.0.0.1', batchIntervalMs: 100 }, (events) => {
      replies += events.filter((e) => e.kind === 'rx').length;
    });
    try {
      transport.start({
        targets: [{ address: '127.0.0.1', port: reflector.localPort, family: 4 }], templates: [encodeProbe(7, 0n, 0n, 64)],
        seqOffset: OFFSET_SEQ, t1Offset: OFFSET_T1, periodNs: 10_000_000n, startMonoNs: process.hrtime.bigint(), probesPerTarget: 300n,
      });
      await waitFor(() => replies >= 50, { what: '50 replies', timeoutMs: 10_000 });
      const before = transport.health?.();
      const blockedUntil = Date.now() + 1500;
      while (Date.now() < blockedUntil) { /* JavaScript busy: the thread sends, reads and hands over batches that wait */ }
      await waitFor(() => replies >= 300, { what: 'all 300 replies', timeoutMs: 10_000 });
      const after = transport.health?.();
      console.log(`delivery lag: ${before?.max_delivery_lag_ms} ms before the block, ${after?.max_delivery_lag_ms} ms after`);
      expect(before?.max_delivery_lag_ms).toBeLessThan(500); // a busy machine's scheduling, never a second
      // the batch handed over first in the block waited for nearly all of it (1.4 s here: less one batch interval)
      expect(after?.max_delivery_lag_ms).toBeGreaterThan(1000);
      expect(after?.max_delivery_lag_ms).toBeLessThan(5000);
      // the once-a-second check reads the same figure without asking the thread
      expect(transport.deliveryLagMs?.()).toBe(after?.max_delivery_lag_ms);
      expect(after?.receive_buffer_drops).toBe(0);
    } finally {
      await transport.close();
      await reflector.close();
    }
  });

  it('JavaScript blocked past the backlog bound: the thread pauses (slots missed, not sent), memory stays bounded, every reply still read', async () => {
    if (!native.ok) throw new Error(native.reason);
    const reflector = await createNativeReflector(native.addon, { bindAddress: '127.0.0.1', port: 0, family: 4, timestamps: 'kernel' }, () => {});
    let replies = 0;
    let missed = 0;
    let done = false;
    // a batch every 10 ms, at most 4 held: the bound is reached 40 ms into the block
    const bound = 4;
    const transport = await createNativeTransport(native.addon, { bindAddress: '127.0.0.1', batchIntervalMs: 10, maxBacklogBatches: bound }, (events) => {
      for (const e of events) {
        if (e.kind === 'rx') replies++;
        else if (e.kind === 'missed') missed += e.count;
        else if (e.kind === 'done') done = true;
      }
    });
    try {
      transport.start({
        targets: [{ address: '127.0.0.1', port: reflector.localPort, family: 4 }], templates: [encodeProbe(8, 0n, 0n, 64)],
        seqOffset: OFFSET_SEQ, t1Offset: OFFSET_T1, periodNs: 10_000_000n, startMonoNs: process.hrtime.bigint(), probesPerTarget: 300n,
      });
      await waitFor(() => replies >= 50, { what: '50 replies', timeoutMs: 10_000 });
      const blockMs = 1500;
      const blockedUntil = Date.now() + blockMs;
      while (Date.now() < blockedUntil) { /* JavaScript busy: the thread hands over batches until it holds the bound, then pauses */ }
      await waitFor(() => done && replies >= 300, { what: 'the schedule done and 300 replies', timeoutMs: 15_000 });
      const health = transport.health?.();
      const stats = transport.stats?.();
      console.log(`backlog: paused ${health?.backlog_paused_ms} ms in ${stats?.backlogPauses} pause(s); ${missed} slots missed; ` +
        `${stats?.batchesAllocated} batches allocated; ${replies} replies; lag ${health?.max_delivery_lag_ms} ms`);
      expect(stats?.backlogPauses).toBeGreaterThanOrEqual(1);
      // paused for most of the block (from when the bound was reached until JavaScript ran again)
      expect(health?.backlog_paused_ms).toBeGreaterThan(blockMs - 500);
      expect(health?.backlog_paused_ms).toBeLessThan(blockMs + 1000);
      // the slots of the pause were skipped, not sent in a burst after it: one per 10 ms paused, less the one late slot each pause may still send
      const pausedSlots = Math.floor((health?.backlog_paused_ms ?? 0) / 10);
      expect(missed).toBeGreaterThanOrEqual(pausedSlots - 2 * (stats?.backlogPauses ?? 0) - 1);
      expect(missed).toBeLessThanOrEqual(pausedSlots + 2);
      // memory: the batches held never passed the bound (the pool's warm-up included)
      expect(stats?.batchesAllocated).toBeLessThanOrEqual(bound + 3);
      // the replies of probes sent before the pause waited in the socket: all 300 read, none dropped
      expect(replies).toBe(300);
      expect(health?.receive_buffer_drops).toBe(0);
    } finally {
      await transport.close();
      await reflector.close();
    }
  });
});
