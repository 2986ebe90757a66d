/**
 * The lab's I/O shell toward the system: `ip`, /proc and signals. Everything that changes the
 * network goes through runIp; the parsers of `ip` output are pure and exported for tests.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEVICE_MODEL_MARKER, LAB_ALL_INTERFACES, LAB_NAMESPACES } from './lab-layout.js';
import type { FoundNetwork, IpArgs } from './lab-plan.js';

const IP_TIMEOUT_MS = 10_000;

/** Names from `ip netns list` ("rtp-pt (id: 0)" or "rtp-pt"). */
export function parseNetnsNames(text: string): string[] {
  return text.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '').filter((name) => name !== '');
}

/** Names from `ip -o link show` ("7: rtp-pt-h@if6: <...>"). */
export function parseLinkNames(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\d+:\s+([^:@\s]+)[@:]/.exec(line);
    if (match?.[1]) names.push(match[1]);
  }
  return names;
}

/** A clear Error when `ip` (Debian: iproute2) cannot be run. */
export function checkIpCommand(): Error | null {
  const result = spawnSync('ip', ['-V'], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    return new Error(code === 'ENOENT'
      ? "the 'ip' command is missing: install iproute2 (apt-get install iproute2)"
      : `cannot run 'ip': ${result.error.message}`);
  }
  return null;
}

/** Runs `ip ARGS`; an Error carries the command and ip's own message. */
export function runIp(args: IpArgs): Error | null {
  const result = spawnSync('ip', [...args], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  if (result.error) return new Error(`ip ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) return new Error(`ip ${args.join(' ')}: ${(result.stderr ?? '').trim() || `exit ${result.status}`}`);
  return null;
}

/** Runs `ip` steps in order; the first failure stops them and comes back. */
export function runIpSteps(steps: readonly IpArgs[]): Error | null {
  for (const step of steps) {
    const error = runIp(step);
    if (error) return error;
  }
  return null;
}

function ipOutput(args: IpArgs): string {
  const result = spawnSync('ip', [...args], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  return result.status === 0 ? result.stdout : '';
}

/** The lab's namespaces and interfaces that exist now (only the lab's own names). */
export function findLabNetwork(): FoundNetwork {
  const namespaces = parseNetnsNames(ipOutput(['netns', 'list'])).filter((n) => LAB_NAMESPACES.includes(n));
  const rootLinks = parseLinkNames(ipOutput(['-o', 'link', 'show'])).filter((l) => LAB_ALL_INTERFACES.includes(l));
  const nsLinks = namespaces.flatMap((netns) =>
    parseLinkNames(ipOutput(['-n', netns, '-o', 'link', 'show']))
      .filter((link) => LAB_ALL_INTERFACES.includes(link))
      .map((link) => ({ netns, link })));
  return { namespaces, rootLinks, nsLinks };
}

export function isEmptyNetwork(found: FoundNetwork): boolean {
  return found.namespaces.length === 0 && found.rootLinks.length === 0 && found.nsLinks.length === 0;
}

/** Every name in `found`, for messages. */
export function networkNames(found: FoundNetwork): string[] {
  return [...found.namespaces.map((n) => `netns ${n}`), ...found.rootLinks, ...found.nsLinks.map((l) => `${l.link} (in ${l.netns})`)];
}

/** PIDs of the processes inside a namespace (`ip netns pids`). */
export function namespacePids(netns: string): number[] {
  return ipOutput(['netns', 'pids', netns]).split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 1);
}

/** A process's argv from /proc, or null when it is gone. */
export function processArgv(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return null; // a zombie, or in the middle of an exec
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return null;
  }
}

/** True when `argv` holds `marker` as consecutive elements. */
export function argvContains(argv: readonly string[], marker: readonly string[]): boolean {
  for (let i = 0; i + marker.length <= argv.length; i++) {
    if (marker.every((part, j) => argv[i + j] === part)) return true;
  }
  return false;
}

/** Processes whose argv holds `marker` (the lab's own, recognised also after a crash). */
export function findPidsByArgv(marker: readonly string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const argv = processArgv(pid);
    if (argv && argvContains(argv, marker)) pids.push(pid);
  }
  return pids;
}

/** The lab's device-model processes, recognised by their exact argv (also after a crash). */
export function findDeviceModelPids(): number[] {
  return findPidsByArgv(DEVICE_MODEL_MARKER);
}

/** `ip route replace unreachable LAB_RANGE`: idempotent, so either lab may add it. */
export function addSafetyRoute(range: string): Error | null {
  return runIp(['route', 'replace', 'unreachable', range]);
}

export function removeSafetyRoute(range: string): void {
  runIp(['route', 'del', 'unreachable', range]); // already gone is fine
}

/** True while the root namespace holds the unreachable route for `range`. */
export function hasSafetyRoute(range: string): boolean {
  return ipOutput(['route', 'show', 'type', 'unreachable']).split('\n').some((line) => line.trim().startsWith(`unreachable ${range}`));
}

/**
 * Alive = in /proc and not a zombie. Not judged by cmdline: it reads empty for a moment while
 * the process execs (`ip netns exec` becoming the agent).
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL for whatever is still there after graceMs. Returns the PIDs ended. */
export async function terminate(pids: number[], graceMs = 3000): Promise<number[]> {
  const signalled = pids.filter((pid) => {
    try {
      process.kill(pid, 'SIGTERM');
      return true;
    } catch {
      return false; // already gone
    }
  });
  const deadline = Date.now() + graceMs;
  while (signalled.some(isAlive) && Date.now() < deadline) await sleep(50);
  for (const pid of signalled.filter(isAlive)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
  }
  while (signalled.some(isAlive) && Date.now() < deadline + 2000) await sleep(50);
  return signalled;
}

/** The first executable `command` in a directory of `path` (PATH by default), or null. */
export function findOnPath(command: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter).filter((d) => d !== '')) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch { /* next */ }
  }
  return null;
}
