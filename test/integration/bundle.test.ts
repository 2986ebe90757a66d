import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, waitUntilListening } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const COMMANDS = ['run', 'agent', 'compare', 'soak', 'report', 'demo', 'lab'];
/** What a minimal guest has: no npm, no node_modules, no HOME, nothing but PATH. */
const SCRUBBED = ['env', '-i', 'PATH=/usr/bin:/bin'];

let buildDir = '';
let guestDir = '';
let launcher = '';

/** The bundle's launcher in a scrubbed environment, as uid 65534 when the test runs as root. */
function guestArgv(args: string[], asNobody = isRoot && hasSetpriv): string[] {
  const user = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  return [...user, ...SCRUBBED, launcher, ...args];
}

function runGuest(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const [command = '', ...rest] = guestArgv(args);
  const result = spawnSync(command, rest, { encoding: 'utf8', timeout: 20_000, cwd: guestDir });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run build: dist/rtprobe runs anywhere with only node', () => {
  beforeAll(() => {
    buildDir = mkdtempSync(join(tmpdir(), 'rtprobe-build-'));
    execFileSync(process.execPath, [join(ROOT, 'shared/cli/build-bundle.js'), '--out', join(buildDir, 'rtprobe')], { encoding: 'utf8' });
    // copied into an empty directory outside the checkout, readable by an unprivileged user
    guestDir = mkdtempSync(join(tmpdir(), 'rtprobe-guest-'));
    cpSync(join(buildDir, 'rtprobe'), join(guestDir, 'rtprobe'), { recursive: true });
    chmodSync(guestDir, 0o755);
    launcher = join(guestDir, 'rtprobe', 'rtprobe');
  });

  afterAll(() => {
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
    if (guestDir) rmSync(guestDir, { recursive: true, force: true });
  });

  it('holds the launcher, the modules, both addons and the systemd unit, and no node_modules above or inside it', () => {
    for (const file of ['rtprobe', 'lib/main.mjs', 'lib/rtprobe_native.node', 'systemd/rtprobe-agent.service', 'README.md']) {
      expect(existsSync(join(guestDir, 'rtprobe', file)), file).toBe(true);
    }
    expect(readFileSync(join(guestDir, 'rtprobe/lib/main.mjs'), 'utf8')).not.toMatch(/tsx|node_modules/);
    for (let dir = guestDir; dir !== dirname(dir); dir = dirname(dir)) expect(existsSync(join(dir, 'node_modules')), dir).toBe(false);
    expect(existsSync(join(guestDir, 'rtprobe', 'node_modules'))).toBe(false);
  });

  it('writes the tarball of that directory, named with the version', () => {
    const tarball = join(buildDir, `rtprobe-${VERSION}-linux-${process.arch}.tar.gz`);
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('rtprobe/rtprobe');
    expect(listing).toContain('rtprobe/lib/main.mjs');
    expect(listing).toContain('rtprobe/lib/rtprobe_native.node');
  });

  it("--version is package.json's, and --help of every command exits 0 (scrubbed environment, unprivileged user when root)", () => {
    const version = runGuest(['--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(`rtprobe ${VERSION}`);
    for (const command of COMMANDS) {
      const help = runGuest([command, '--help']);
      expect(help.code, `${command}: ${help.stderr}`).toBe(0);
      expect(help.stdout, command).toMatch(/^Usage: rtprobe/);
      expect(help.stderr, command).toBe('');
    }
  });

  it("its agent, started bare, answers the checkout's controller with kernel stamps on both ends", async () => {
    const [command = '', ...rest] = guestArgv(['agent', '--listen', '127.0.0.1:0', '--insecure-no-auth', '--ws', '127.0.0.1:0']);
    const agent = await waitUntilListening(spawn(command, rest, { cwd: guestDir }), true);
    try {
      const run = await runCli(['run', '--target', `guest=127.0.0.1:${agent.port}`, '--count', '100', '--rate', '200',
        '--timestamps', 'kernel', '--agent-ws', agent.streamUrl ?? '', '--json', '-', '--quiet']);
      expect(run.code, run.stderr).toBe(0);
      const target = (JSON.parse(run.stdout) as { targets: { received: number; timestamps: Record<string, string> }[] }).targets[0];
      expect(target?.received).toBe(100);
      expect(target?.timestamps).toMatchObject({ tx: 'kernel', rx: 'kernel', agent_t2: 'kernel' });
    } finally {
      const stopped = await agent.stop();
      expect(stopped.stdout).toMatch(/listening udp 127\.0\.0\.1:\d+ \(timestamps: kernel\)/);
      expect(stopped.stdout).toMatch(/received 101, reflected 100, rejected 0 \(none\), sessions ended by their controller 1/); // and the session-end
    }
  });

  it('without its addon the bundle falls back to user-space stamps with one warning line, and still answers', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'rtprobe-noaddon-'));
    try {
      cpSync(join(guestDir, 'rtprobe'), join(copy, 'rtprobe'), { recursive: true });
      rmSync(join(copy, 'rtprobe/lib/rtprobe_native.node'));
      const agent = await waitUntilListening(spawn('env', ['-i', 'PATH=/usr/bin:/bin', join(copy, 'rtprobe/rtprobe'), 'agent', '--listen', '127.0.0.1:0']), false);
      const run = await runCli(['run', '--target', `127.0.0.1:${agent.port}`, '--count', '20', '--rate', '200', '--json', '-', '--quiet']);
      const stopped = await agent.stop();
      expect(run.code, run.stderr).toBe(0);
      expect(stopped.stdout).toMatch(/\(timestamps: user\)/);
      const warnings = stopped.stderr.split('\n').filter((line) => /warning/.test(line));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/rtprobe_native\.node/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasSystemdAnalyze)(`the systemd unit it ships parses (systemd-analyze verify)${hasSystemdAnalyze ? '' : ' — skipped: no systemd-analyze'}`, () => {
    const unit = readFileSync(join(guestDir, 'rtprobe/systemd/rtprobe-agent.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/opt\/rtprobe\/rtprobe agent /m);
    // verify checks that ExecStart is executable: point it at this bundle's launcher
    const local = join(guestDir, 'rtprobe-agent.service');
    writeFileSync(local, unit.replace('/opt/rtprobe/rtprobe', launcher));
    const result = spawnSync('systemd-analyze', ['verify', local], { encoding: 'utf8', cwd: guestDir });
    expect(result.stderr.split('\n').filter((line) => line.includes('rtprobe-agent.service'))).toEqual([]);
    expect(result.status, result.stderr).toBe(0);
  });
});
