/**
 * Fault: the agent is killed with SIGKILL in the middle of a run and restarted on the same UDP
 * and stream ports. The controller must keep its schedule, count the probes sent while nothing
 * answered as lost, reconnect its agent stream to the new agent, and end normally.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_PATH } from '../helpers/cli.js';
import { lastStatusReceived, spawnCli, type SpawnedCli } from '../helpers/spawn-cli.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'rtprobe-fault-agent-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'a-fault-test-token-of-enough-length\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RATE_HZ = 100;
const DOWN_MS = 2000;

interface TimedAgent {
  cli: SpawnedCli;
  port: number;
  wsPort: number;
  /** performance.now() when its 'listening udp' line arrived: it answers probes from (just before) then */
  listeningAtMs: number;
}

/** `rtprobe agent` with a stream; resolves once both sockets listen, with the time the UDP one did. */
async function startTimedAgent(udp: string, ws: string): Promise<TimedAgent> {
  const cli = spawnCli(['agent', '--listen', udp, '--ws', ws, '--token-file', tokenFile]);
  let listeningAtMs = 0;
  cli.child.stdout?.on('data', () => {
    if (listeningAtMs === 0 && /^listening udp/m.test(cli.stdout())) listeningAtMs = performance.now();
  });
  await waitFor(() => /^stream ws:/m.test(cli.stdout()), { what: `the agent to listen (${CLI_PATH} agent)`, timeoutMs: 20_000, everyMs: 5 });
  const port = Number(/^listening udp [\d.]+:(\d+)/m.exec(cli.stdout())?.[1]);
  const wsPort = Number(/^stream ws:\/\/[\d.]+:(\d+)/m.exec(cli.stdout())?.[1]);
  return { cli, port, wsPort, listeningAtMs };
}

describe('fault: agent kill -9 mid-run, restarted on the same ports (real processes, loopback)', () => {
  it('the run goes on, counts the down time as lost, its stream reconnects to the new agent, exit 0', async () => {
    const first = await startTimedAgent('127.0.0.1:0', '127.0.0.1:0');
    let second: TimedAgent | null = null;
    const run = spawnCli(['run', '--target', `g=127.0.0.1:${first.port}`,
      '--agent-ws', `g=ws://127.0.0.1:${first.wsPort}/v1/stream`, '--agent-token-file', tokenFile,
      '--rate', String(RATE_HZ), '--duration', '8s', '--loss-after', '1s', '--timeout', '500ms', '--json', '-']);
    try {
      // A second of answered probes first (the status line says so), then the crash.
      await waitFor(() => lastStatusReceived(run.stderr()) >= 100, { what: '100 answered probes', timeoutMs: 20_000 });
      const killedAtMs = performance.now();
      first.cli.child.kill('SIGKILL');
      await first.cli.exited;
      await sleep(DOWN_MS); // the fault itself: how long nothing listens
      second = await startTimedAgent(`127.0.0.1:${first.port}`, `127.0.0.1:${first.wsPort}`);
      const downMs = second.listeningAtMs - killedAtMs;

      const code = await run.exited;
      expect(code, run.stderr()).toBe(0);
      const target = JSON.parse(run.stdout()).targets[0];
      const ended = second.cli;
      second = null;
      ended.child.kill('SIGTERM');
      await ended.exited;
      const secondReceived = Number(/received (\d+), reflected/.exec(ended.stdout())?.[1]);

      // The schedule never stopped: 8 s at 100 Hz, give or take a slot at each end.
      expect(target.sent).toBeGreaterThanOrEqual(795);
      expect(target.received + target.lost).toBe(target.sent);
      expect(target.late).toBe(0);
      // Expected loss from the measured down time. The window is bracketed by the test's own
      // clock: the kill is effective within a millisecond, a probe in flight at the kill
      // (RTT ≈ 0.1 ms of a 10 ms period) adds at most 1, slot rounding 1 at each edge, and the
      // new agent answers from when it bound its socket, a little before its 'listening' line
      // reached this process (pipe + two busy event loops on 2 cores: 0-40 ms seen here, up to
      // ~80 ms allowed = 8 probes), so the measured down time can only overestimate.
      const expectedLost = (downMs / 1000) * RATE_HZ;
      console.log(`agent down ${downMs.toFixed(1)} ms: lost ${target.lost}, expected ${expectedLost.toFixed(1)}`);
      expect(target.lost).toBeGreaterThanOrEqual(Math.floor(expectedLost) - 10);
      expect(target.lost).toBeLessThanOrEqual(Math.ceil(expectedLost) + 2);
      // Everything the new agent answered came back to the controller.
      expect(secondReceived).toBeGreaterThan(200);
      expect(target.received).toBeGreaterThanOrEqual(secondReceived + 90);

      // The stream reconnected to the restarted agent: its intervals, up to the final flush, arrived.
      const agent = target.agent;
      expect(agent.reconnects).toBeGreaterThanOrEqual(1);
      expect(agent.received).toBeGreaterThanOrEqual(secondReceived);
      // What the killed agent had not yet published died with it: the stream is not complete,
      // and the forward/return split is then unknown rather than wrong.
      expect(agent.restarts).toBe(1);
      expect(agent.complete).toBe(false);
      expect(target.loss_forward).toBeNull();
      expect(target.loss_return).toBeNull();
    } finally {
      first.cli.child.kill('SIGKILL');
      if (second) {
        second.cli.child.kill('SIGKILL');
        await second.cli.exited;
      }
      run.child.kill('SIGKILL');
    }
  });
});
