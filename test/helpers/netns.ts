import { execFileSync } from 'node:child_process';

export interface GuestNamespace {
  name: string;
  /** the host side's address of the veth pair */
  hostAddress: string;
  /** the address inside the namespace: the only thing tests send to */
  guestAddress: string;
  /** the veth pair's ends: on the host, and inside the namespace */
  hostInterface: string;
  guestInterface: string;
  remove(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Under the /30's connected route (metric 0) while the namespace exists; see createGuestNamespace. */
const GUARD_METRIC = '4242';

/**
 * A network namespace behind a veth pair, made by the test itself (root only), with a /30
 * from 10.254.0.0/16 chosen by `subnet` (0..255). remove() deletes it whatever state it is in.
 *
 * Safety: an `unreachable` route for the /30 (metric 4242) is added before any address and
 * removed last. A link that goes down takes its connected route with it; probes to the guest
 * address then fail on this machine instead of following the default route off it.
 */
export function createGuestNamespace(tag: string, subnet: number): GuestNamespace {
  const name = `rtp-${tag}-${process.pid}`;
  const hostIf = `rh${subnet}-${process.pid % 100000}`.slice(0, 15);
  const guestIf = `rg${subnet}-${process.pid % 100000}`.slice(0, 15);
  const hostAddress = `10.254.${subnet}.1`;
  const guestAddress = `10.254.${subnet}.2`;
  const guard = ['unreachable', `10.254.${subnet}.0/30`, 'metric', GUARD_METRIC];
  const remove = (): void => {
    try { ip(['link', 'del', hostIf]); } catch { /* already gone */ }
    try { ip(['netns', 'del', name]); } catch { /* already gone */ }
    try { ip(['route', 'del', ...guard]); } catch { /* already gone */ }
  };
  try {
    ip(['route', 'add', ...guard]);
    ip(['netns', 'add', name]);
    ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', guestIf]);
    ip(['link', 'set', guestIf, 'netns', name]);
    ip(['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    ip(['link', 'set', hostIf, 'up']);
    ip(['-n', name, 'addr', 'add', `${guestAddress}/30`, 'dev', guestIf]);
    ip(['-n', name, 'link', 'set', guestIf, 'up']);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    remove();
    throw error;
  }
  process.once('exit', remove);
  return { name, hostAddress, guestAddress, hostInterface: hostIf, guestInterface: guestIf, remove };
}

export function namespaceExists(name: string): boolean {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').some((line) => line.split(' ')[0] === name);
}
