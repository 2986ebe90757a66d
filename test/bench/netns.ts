/**
 * Two network namespaces joined by a veth pair, owned by this bench process:
 *   rtpb-ctl-PID (clients)  rtpbcPID 10.254.X.Y+1/30 <-> rtpbgPID 10.254.X.Y+2/30  rtpb-guest-PID (servers)
 * The veth ends are created directly inside the namespaces, so the addresses exist only
 * there and no probe can reach anything outside them. Everything is synchronous so that
 * exit and signal handlers can remove the namespaces (deleting a namespace deletes its veth).
 *
 * Safety: before anything else, an `unreachable` route for the /30 goes into the root
 * namespace (removed last), so that a probe started there by mistake, or after a namespace
 * is gone, fails on this machine instead of following the default route off it. Inside the
 * client namespace there is no default route: a veth that goes down leaves nothing to follow.
 */
import { execFileSync } from 'node:child_process';

export interface VethPair {
  ctl: string;
  guest: string;
  ctlAddr: string;
  guestAddr: string;
  /** the /30 of both ends, e.g. 10.254.7.0/30 */
  subnet: string;
}

/** The bench's own metric, so that a test's guard route (4242) for the same /30 can coexist. */
const GUARD_METRIC = '4243';

function guardRoute(p: Pick<VethPair, 'subnet'>): string[] {
  return ['unreachable', p.subnet, 'metric', GUARD_METRIC];
}

const PREFIX = /^rtpb-(ctl|guest)-(\d+)$/;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

export function vethPlan(pid: number): VethPair {
  const x = pid % 256;
  const y = (Math.floor(pid / 256) % 64) * 4;
  return {
    ctl: `rtpb-ctl-${pid}`,
    guest: `rtpb-guest-${pid}`,
    ctlAddr: `10.254.${x}.${y + 1}`,
    guestAddr: `10.254.${x}.${y + 2}`,
    subnet: `10.254.${x}.${y}/30`,
  };
}

export function createVethPair(pid = process.pid): VethPair {
  const p = vethPlan(pid);
  const cIf = `rtpbc${pid}`;
  const gIf = `rtpbg${pid}`;
  try {
    ip('route', 'add', ...guardRoute(p));
    ip('netns', 'add', p.ctl);
    ip('netns', 'add', p.guest);
    ip('link', 'add', cIf, 'netns', p.ctl, 'type', 'veth', 'peer', 'name', gIf, 'netns', p.guest);
    ip('-n', p.ctl, 'addr', 'add', `${p.ctlAddr}/30`, 'dev', cIf);
    ip('-n', p.guest, 'addr', 'add', `${p.guestAddr}/30`, 'dev', gIf);
    for (const [ns, dev] of [[p.ctl, cIf], [p.guest, gIf], [p.ctl, 'lo'], [p.guest, 'lo']] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  } catch (e) {
    removeVethPair(p);
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`could not set up the veth namespaces: ${msg.split('\n')[0]}`);
  }
  return p;
}

export function removeVethPair(p: Pick<VethPair, 'ctl' | 'guest' | 'subnet'>): void {
  for (const ns of [p.ctl, p.guest]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* not there (never created or already removed) */
    }
  }
  try {
    ip('route', 'del', ...guardRoute(p));
  } catch {
    /* not there */
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces a killed earlier bench left behind (our prefix, dead owner pid). */
export function removeStaleNamespaces(): string[] {
  let list: string;
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = PREFIX.exec(name);
    if (!m || alive(Number(m[2]))) continue;
    try {
      ip('netns', 'del', name);
      removed.push(name);
    } catch {
      /* someone else's problem now */
    }
    try {
      ip('route', 'del', ...guardRoute(vethPlan(Number(m[2]))));
    } catch {
      /* the other namespace of the pair took it already */
    }
  }
  return removed;
}
