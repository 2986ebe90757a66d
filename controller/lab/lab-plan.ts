/**
 * What `lab up` and `lab down` do to the network, as lists of `ip` argument vectors: pure, so
 * the order (open the guest TAP before it moves into its namespace; delete links before the
 * namespaces that hold them) is tested without root.
 */
import type { GuestLayout } from './lab-layout.js';

/** One `ip` invocation. */
export type IpArgs = readonly string[];

/** The passthrough guest: a veth pair whose guest end is created inside the namespace. */
export function planVethGuest(g: GuestLayout): IpArgs[] {
  return [
    ['netns', 'add', g.netns],
    ['link', 'add', g.hostIf, 'type', 'veth', 'peer', 'name', g.guestIf, 'netns', g.netns],
    ['addr', 'add', `${g.hostAddress}/${g.prefixLength}`, 'dev', g.hostIf],
    ['link', 'set', g.hostIf, 'up'],
    ...planGuestInside(g),
  ];
}

/**
 * The emulated guest, first half: its namespace and two persistent TAPs in the root namespace.
 * The device model attaches to both next (TUNSETIFF finds a TAP by name in the namespace of
 * the opener), then planTapGuestAfterModel moves the guest TAP in.
 */
export function planTapGuestBeforeModel(g: GuestLayout): IpArgs[] {
  return [
    ['netns', 'add', g.netns],
    ['tuntap', 'add', 'dev', g.hostIf, 'mode', 'tap'],
    ['tuntap', 'add', 'dev', g.guestIf, 'mode', 'tap'],
  ];
}

export function planTapGuestAfterModel(g: GuestLayout): IpArgs[] {
  return [
    ['link', 'set', g.guestIf, 'netns', g.netns],
    ['addr', 'add', `${g.hostAddress}/${g.prefixLength}`, 'dev', g.hostIf],
    ['link', 'set', g.hostIf, 'up'],
    ...planGuestInside(g),
  ];
}

function planGuestInside(g: GuestLayout): IpArgs[] {
  return [
    ['-n', g.netns, 'addr', 'add', `${g.guestAddress}/${g.prefixLength}`, 'dev', g.guestIf],
    ['-n', g.netns, 'link', 'set', g.guestIf, 'up'],
    ['-n', g.netns, 'link', 'set', 'lo', 'up'],
  ];
}

/** What exists now, as `lab down` found it. */
export interface FoundNetwork {
  /** lab namespaces that exist */
  namespaces: string[];
  /** lab interfaces in the root namespace */
  rootLinks: string[];
  /** lab interfaces inside lab namespaces */
  nsLinks: Array<{ netns: string; link: string }>;
}

/**
 * Removal: links first (a persistent TAP inside a namespace is deleted explicitly rather than
 * trusting namespace teardown with it), then the namespaces. Deleting one end of a veth pair
 * deletes both, so a step may find its link already gone: the runner ignores "cannot find".
 */
export function planDown(found: FoundNetwork): IpArgs[] {
  return [
    ...found.nsLinks.map(({ netns, link }) => ['-n', netns, 'link', 'del', link]),
    ...found.rootLinks.map((link) => ['link', 'del', link]),
    ...found.namespaces.map((netns) => ['netns', 'del', netns]),
  ];
}

/** The agent's command line inside its namespace (run through `ip netns exec`). */
export function agentArgv(g: GuestLayout, node: string, cli: string, tokenFile: string): string[] {
  return [
    'netns', 'exec', g.netns, node, cli, 'agent',
    '--listen', `${g.guestAddress}:${g.udpPort}`,
    '--ws', `${g.guestAddress}:${g.wsPort}`,
    '--token-file', tokenFile,
  ];
}
