/**
 * The single-file agent (shared/cli/build-sea.js, Node's single executable applications):
 * built into a temp dir, copied alone into an empty directory and run without node. As root,
 * the agent runs in a chroot that holds only the executable and the shared libraries ldd names
 * for it and for the addon: no node, no libnode, nothing on PATH. Without root it runs from
 * the empty directory with the environment emptied but for PATH=/bin.
 * Skipped, with the reason, where build-sea.js --check says it cannot be built here.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { skipNote } from '../helpers/skip.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD_SEA = join(ROOT, 'shared', 'cli', 'build-sea.js');
const ADDON = join(ROOT, 'shared', 'native', 'build', 'Release', 'rtprobe_native.node');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function notBuildable(): string | null {
  if (process.platform !== 'linux') return `single executable built and tested on Linux only (platform ${process.platform})`;
  try {
    execFileSync(process.execPath, [BUILD_SEA, '--check'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    return null;
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? (error as Error).message).trim();
  }
}

function which(command: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const skipReason = notBuildable();
const chroot = which('chroot');
const ldd = which('ldd');
const inChroot = process.getuid?.() === 0 && chroot !== null && ldd !== null;

/** The absolute paths of the shared libraries (and the ELF interpreter) `ldd FILE` names. */
function sharedLibraries(file: string): string[] {
  return [...execFileSync(ldd!, [file], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

describe.skipIf(skipReason !== null)(`rtprobe-agent, the single executable (node shared/cli/build-sea.js)${skipNote(skipReason)}`, () => {
  let dir = '';
  let empty = '';
  let exe = '';
  /** the chroot (root only): the executable as /opt/rtprobe-agent, its libraries, an empty /tmp */
  let jail = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtprobe-sea-test-'));
    const built = join(dir, 'build', 'rtprobe-agent');
    execFileSync(process.execPath, [BUILD_SEA, '--out', built], { cwd: ROOT, stdio: 'pipe', timeout: 170_000 });
    empty = join(dir, 'empty');
    mkdirSync(empty);
    exe = join(empty, 'rtprobe-agent');
    copyFileSync(built, exe);
    if (inChroot) {
      jail = join(dir, 'jail');
      for (const lib of new Set([...sharedLibraries(exe), ...sharedLibraries(ADDON)])) {
        mkdirSync(join(jail, dirname(lib)), { recursive: true });
        copyFileSync(lib, join(jail, lib));
      }
      mkdirSync(join(jail, 'opt'));
      mkdirSync(join(jail, 'tmp'), { mode: 0o1777 });
      copyFileSync(built, join(jail, 'opt', 'rtprobe-agent'));
    }
    rmSync(join(dir, 'build'), { recursive: true });
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('alone in an empty directory, env -i PATH=/bin: --help and --version exit 0', () => {
    expect(readdirSync(empty)).toEqual(['rtprobe-agent']);
    const help = execFileSync(exe, ['--help'], { cwd: empty, env: { PATH: '/bin' }, encoding: 'utf8' });
    expect(help).toMatch(/^Usage: rtprobe agent /);
    const version = execFileSync(exe, ['agent', '--version'], { cwd: empty, env: { PATH: '/bin' }, encoding: 'utf8' });
    expect(version).toBe(`rtprobe-agent ${VERSION}\n`);
  });

  const where = inChroot
    ? 'in a chroot with only it and the libraries ldd names (no node, no libnode)'
    : 'from the empty directory, env -i PATH=/bin (not root: no chroot, so node is not hidden)';
  it(`${where}: listens with kernel timestamps (the embedded addon), a run of 50 probes gets 50 replies, no extracted file is left`, async () => {
    const [command, args, cwd] = inChroot
      ? [chroot!, [jail, '/opt/rtprobe-agent', '--listen', '127.0.0.1:0'], '/']
      : [exe, ['--listen', '127.0.0.1:0'], empty];
    const agent = spawn(command, args, { cwd, env: { PATH: '/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    agent.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    agent.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => agent.on('close', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line in 20 s: ${stdout}${stderr}`)), 20_000);
        agent.stdout.on('data', () => {
          const m = /^listening udp 127\.0\.0\.1:(\d+) \(timestamps: kernel\)$/m.exec(stdout);
          if (m) { clearTimeout(timer); resolve(Number(m[1])); }
        });
        void exited.then((code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${stdout}${stderr}`)); });
      });
      expect(stderr).toBe('');
      if (inChroot) expect(readdirSync(join(jail, 'tmp'))).toEqual([]);

      const run = await runCli(['run', '--target', `127.0.0.1:${port}`, '--count', '50']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/sent 50 {2}received 50 {2}lost 0 /);
    } finally {
      agent.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stdout + stderr).toMatch(/received 51, reflected 50, rejected 0 \(none\), sessions ended by their controller 1/); // and the session-end
    expect(stdout + stderr).toMatch(/ended by SIGTERM/);
  });
});
