import { execFileSync } from 'node:child_process';

export interface GuestNamespace {
  name: string;
  /** the host side's address of the veth pair */
  hostAddress: string;
  /** the address inside the namespace: the only thing tests send to */
  guestAddress: string;
  remove(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A network namespace behind a veth pair, made by the test itself (root only), with a /30
 * from 10.254.0.0/16 chosen by `subnet` (0..255). remove() deletes it whatever state it is in.
 */
export function createGuestNamespace(tag: string, subnet: number): GuestNamespace {
  const name = `rtp-${tag}-${process.pid}`;
  const hostIf = `rh${subnet}-${process.pid % 100000}`.slice(0, 15);
  const guestIf = `rg${subnet}-${process.pid % 100000}`.slice(0, 15);
  const hostAddress = `10.254.${subnet}.1`;
  const guestAddress = `10.254.${subnet}.2`;
  const remove = (): void => {
    try { ip(['link', 'del', hostIf]); } catch { /* already gone */ }
    try { ip(['netns', 'del', name]); } catch { /* already gone */ }
  };
  try {
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
  return { name, hostAddress, guestAddress, remove };
}

export function namespaceExists(name: string): boolean {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').some((line) => line.split(' ')[0] === name);
}
