/**
 * Fault: the link into a network namespace (a veth pair this test makes, 10.254.83.0/30) goes
 * down for 2 s and comes back, with the agent inside the namespace and the controller outside.
 * The run must go on, count the probes of the outage as lost, and measure sane RTTs after.
 *
 * Safety: an `unreachable 10.254.83.0/30` route (metric 4242, made by createGuestNamespace)
 * sits under the veth's connected route, so while the host side is down the probes fail
 * locally instead of following the default route off the machine. Neighbour entries are permanent (re-added after each "up"),
 * so the outage is just the outage: no ARP queue holding probes back and releasing them late.
 */
import { execFileSync, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../../shared/native/native-addon.js';
import { CLI_PATH, waitUntilListening, type RunningAgent } from '../helpers/cli.js';
import { createGuestNamespace, type GuestNamespace } from '../helpers/netns.js';
import { skipNote, whySkip } from '../helpers/skip.js';
import { lastStatusReceived, spawnCli } from '../helpers/spawn-cli.js';
import { sleep, waitFor } from '../helpers/wait-for.js';

const SUBNET = 83;
const RATE_HZ = 100;
const DOWN_MS = 2000;

function hasIp(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skipReason = whySkip([process.getuid?.() !== 0, 'needs root to create a network namespace'],
  [!hasIp(), "needs the 'ip' command (Debian iproute2)"]);
const loaded = loadNativeAddon();
const noAddon = loaded.ok ? null : `the native addon is not loaded (${loaded.reason})`;

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

interface Link {
  ns: GuestNamespace;
  hostIf: string;
  guestIf: string;
  /** the agent inside the namespace */
  agent: RunningAgent;
  agentPort: number;
}

/** Neighbour entries that no ARP timing can disturb (an admin "down" flushes them: call after each "up"). */
function pinNeighbours(link: Pick<Link, 'ns' | 'hostIf' | 'guestIf'>): void {
  const mac = (args: string[]): string => (JSON.parse(ip('-j', ...args)) as { address: string }[])[0]?.address ?? '';
  const hostMac = mac(['link', 'show', link.hostIf]);
  const guestMac = mac(['-n', link.ns.name, 'link', 'show', link.guestIf]);
  ip('neigh', 'replace', link.ns.guestAddress, 'lladdr', guestMac, 'dev', link.hostIf, 'nud', 'permanent');
  ip('-n', link.ns.name, 'neigh', 'replace', link.ns.hostAddress, 'lladdr', hostMac, 'dev', link.guestIf, 'nud', 'permanent');
}

let link: Link | null = null;

async function setUp(): Promise<Link> {
  // createGuestNamespace holds an unreachable route for the /30 under the connected one
  const ns = createGuestNamespace('fltlink', SUBNET);
  const { hostInterface: hostIf, guestInterface: guestIf } = ns;
  pinNeighbours({ ns, hostIf, guestIf });
  try {
    // `ip netns exec` execs node in the namespace: the child is the agent
    const agent = await waitUntilListening(spawn('ip', ['netns', 'exec', ns.name, process.execPath, CLI_PATH, 'agent',
      '--listen', `${ns.guestAddress}:0`]), false);
    return { ns, hostIf, guestIf, agent, agentPort: agent.port };
  } catch (err) {
    ns.remove(); // an agent that never listened leaves no namespace behind
    throw err;
  }
}

interface Outage {
  report: Record<string, any>;
  code: number | null;
  stderr: string;
  /** probes due while the link was surely down, and while it may have been */
  expectedMin: number;
  expectedMax: number;
  upAtWallMs: number;
}

/**
 * Probes the agent for 9 s; after 100 answered probes runs `down`, waits 2 s, runs `up`. 9 s:
 * under a full test run the first 100 replies may take 2-3 s, and a whole second must follow
 * the outage.
 */
async function runWithOutage(current: Link, down: () => void, up: () => void, env: NodeJS.ProcessEnv = {}): Promise<Outage> {
  const run = spawnCli(['run', '--target', `g=${current.ns.guestAddress}:${current.agentPort}`, '--rate', String(RATE_HZ),
    '--duration', '9s', '--loss-after', '1s', '--timeout', '500ms', '--json', '-'], { env });
  let isDown = false;
  try {
    await waitFor(() => lastStatusReceived(run.stderr()) >= 100, { what: '100 answered probes', timeoutMs: 20_000 });
    const downStart = performance.now();
    isDown = true;
    down();
    const downEnd = performance.now();
    await sleep(DOWN_MS); // the fault itself
    const upStart = performance.now();
    up();
    isDown = false;
    const upEnd = performance.now();
    const upAtWallMs = Date.now();
    const code = await run.exited;
    // A probe is lost when it was sent while the link was down, give or take the one in flight
    // at each edge (RTT ≈ 0.1 ms of a 10 ms period) and a slot of rounding.
    return {
      report: JSON.parse(run.stdout() || '{}'), code, stderr: run.stderr(), upAtWallMs,
      expectedMin: Math.floor(((upStart - downEnd) / 1000) * RATE_HZ) - 2,
      expectedMax: Math.ceil(((upEnd - downStart) / 1000) * RATE_HZ) + 2,
    };
  } finally {
    if (isDown) up();
    run.child.kill('SIGKILL');
  }
}

/** What every outage must show: the run went on, the outage is loss, the RTTs after it are sane. */
function expectOutageCountedAsLoss(outage: Outage, label: string): void {
  const target = outage.report.targets?.[0];
  console.log(`${label}: sent ${target?.sent}, lost ${target?.lost} (expected ${outage.expectedMin}..${outage.expectedMax}), `
    + `missed send slots ${target?.missed_send_slots}, late ${target?.late}, RTT max ${target?.rtt_ns?.max} ns`);
  expect(outage.code, outage.stderr).toBe(0);
  expect(outage.stderr).not.toMatch(/\n\s+at .*\.(ts|js):\d+/);
  // the schedule went on through the outage: 9 s at 100 Hz
  expect(target.sent + target.missed_send_slots).toBeGreaterThanOrEqual(895);
  expect(target.received + target.lost).toBe(target.sent);
  expect(target.lost).toBeGreaterThanOrEqual(outage.expectedMin);
  expect(target.lost).toBeLessThanOrEqual(outage.expectedMax);
  expect(target.late).toBe(0);
  // After the link is back (from the next full second on), probes flow at the full rate with
  // sane RTTs: under 100 ms, far from the outage's scale (seconds) yet above what user-space
  // stamps on a busy 2-core machine show on their own (up to ~45 ms seen here).
  const after = (target.max_over_time as { start: string; span_s: number; max_ns: number; count: number }[])
    .filter((p) => Date.parse(p.start) >= outage.upAtWallMs + 1000 && p.span_s === 1);
  expect(after.length).toBeGreaterThanOrEqual(1);
  for (const second of after.slice(0, -1)) expect(second.count).toBeGreaterThanOrEqual(95); // the last second may be partial
  for (const second of after) expect(second.max_ns).toBeLessThan(100e6);
  expect(target.rtt_ns.max).toBeLessThan(100e6);
}

describe.skipIf(skipReason !== null)(`fault: the link into a network namespace down for 2 s (root; veth pair, agent inside)${skipNote(skipReason)}`, () => {
  beforeAll(async () => { link = await setUp(); });
  afterAll(async () => {
    if (link) {
      await link.agent.stop();
      link.ns.remove();
    }
  });

  it("the guest's NIC down and up: the probes of those 2 s are lost, the run goes on, RTTs after are sane", async () => {
    const current = link as Link;
    const outage = await runWithOutage(current,
      () => ip('-n', current.ns.name, 'link', 'set', current.guestIf, 'down'),
      () => { ip('-n', current.ns.name, 'link', 'set', current.guestIf, 'up'); pinNeighbours(current); });
    expectOutageCountedAsLoss(outage, 'guest side down');
  });

  it('the host side down and up (no route: sendto fails), user-space transport: counted as lost', async () => {
    const current = link as Link;
    const outage = await runWithOutage(current,
      () => ip('link', 'set', current.hostIf, 'down'),
      () => { ip('link', 'set', current.hostIf, 'up'); pinNeighbours(current); },
      { RTPROBE_NO_ADDON: '1' });
    expectOutageCountedAsLoss(outage, 'host side down, dgram transport');
  });

  // A sendto that fails (EHOSTUNREACH while the route is gone) is a probe sent and lost, as
  // with the user-space transport (it was a missed send slot before, which hid the outage).
  it.skipIf(noAddon !== null)(`the host side down and up, native transport: counted as lost${skipNote(noAddon)}`, async () => {
    const current = link as Link;
    const outage = await runWithOutage(current,
      () => ip('link', 'set', current.hostIf, 'down'),
      () => { ip('link', 'set', current.hostIf, 'up'); pinNeighbours(current); });
    expect(outage.report.targets?.[0]?.timestamps?.tx).toBe('kernel');
    expectOutageCountedAsLoss(outage, 'host side down, native transport');
  });
});
