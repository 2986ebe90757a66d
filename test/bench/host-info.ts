/** What the numbers were measured on, and which peer versions, for the JSON summary. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';

function firstLine(cmd: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n').find((l) => l.trim() !== '')?.trim();
  } catch (e) {
    // some print their version on stderr or exit non-zero after printing it
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ''}\n${err.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '')?.trim();
  }
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const DAMON = '/sys/kernel/mm/damon/admin/kdamonds';

/**
 * The kernel's DAMON daemons and what their schemes do ("0: on, pageout"), or undefined when
 * there are none: on this VM a pageout scheme beside a process holding idle memory raised every
 * process's CPU a probe up to 3× (README, Benchmark).
 */
function damonState(): string | undefined {
  const states = numberedEntries(DAMON).map((id) => {
    const schemes = join(DAMON, id, 'contexts', '0', 'schemes');
    const actions = numberedEntries(schemes).map((n) => readTrimmed(join(schemes, n, 'action')) ?? '?');
    return `${id}: ${readTrimmed(join(DAMON, id, 'state')) ?? '?'}${actions.length > 0 ? `, ${actions.join(' ')}` : ''}`;
  });
  return states.length > 0 ? states.join('; ') : undefined;
}

/** The entries of a sysfs directory named 0, 1, ...; none when it does not exist. */
function numberedEntries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
}

export function hostInfo(installed: ReadonlySet<string>): Record<string, string | number> {
  const info: Record<string, string | number> = { kernel: release(), cpus: cpus().length, node: process.version };
  const clocksource = readTrimmed('/sys/devices/system/clocksource/clocksource0/current_clocksource');
  if (clocksource !== undefined) info.clocksource = clocksource;
  const damon = damonState();
  if (damon !== undefined) info.damon = damon;
  const versions: [string, string[]][] = [
    ['irtt', ['version']],
    ['sockperf', ['--version']],
    ['ping', ['-V']],
    ['fping', ['-v']],
  ];
  for (const [exe, args] of versions) {
    if (!installed.has(exe)) continue;
    const v = firstLine(exe, args);
    if (v) info[`${exe}_version`] = v;
  }
  return info;
}
