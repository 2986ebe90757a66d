/** What the numbers were measured on, and which peer versions, for the JSON summary. */
import { execFileSync } from 'node:child_process';
import { cpus, release } from 'node:os';

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

export function hostInfo(installed: ReadonlySet<string>): Record<string, string | number> {
  const info: Record<string, string | number> = { kernel: release(), cpus: cpus().length, node: process.version };
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
