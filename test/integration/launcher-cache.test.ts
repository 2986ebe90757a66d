import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleKey } from '../../shared/cli/bundle-cache.js';
import { runCli, startAgent } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const temps: string[] = [];
const temp = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A tree shaped like the checkout: the key reads controller/, agent/, shared/ and the package files. */
function fakeCheckout(): string {
  const root = temp('rtprobe-key-');
  for (const dir of ['controller', 'agent', 'shared/cli', 'shared/node_modules/x', 'shared/native/build']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'controller', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'shared', 'cli', 'b.ts'), 'export const b = 2;\n');
  writeFileSync(join(root, 'package.json'), '{}\n');
  return root;
}

/** The command lines of `pid`'s child processes, whichever of its threads started them (/proc/PID/task/TID/children). */
function childrenOf(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`)
    .flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean))
    .map((child) => readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ').trim());
}

describe('bundleKey: what the cached bundle is built from', () => {
  it('is the same for the same files and changes with an edit, a new file, a removed file or a package file', () => {
    const root = fakeCheckout();
    const first = bundleKey(root);
    expect(bundleKey(root)).toBe(first);
    utimesSync(join(root, 'controller', 'a.ts'), new Date(), new Date(Date.now() + 5_000));
    const edited = bundleKey(root);
    expect(edited).not.toBe(first);
    writeFileSync(join(root, 'agent', 'c.ts'), 'export {};\n');
    const added = bundleKey(root);
    expect(added).not.toBe(edited);
    rmSync(join(root, 'agent', 'c.ts'));
    expect(bundleKey(root)).toBe(edited);
    writeFileSync(join(root, 'package.json'), '{"x":1}\n');
    expect(bundleKey(root)).not.toBe(edited);
  });

  it('does not look into node_modules or build output below the sources', () => {
    const root = fakeCheckout();
    const before = bundleKey(root);
    writeFileSync(join(root, 'shared', 'node_modules', 'x', 'index.js'), '');
    writeFileSync(join(root, 'shared', 'native', 'build', 'obj.o'), '');
    expect(bundleKey(root)).toBe(before);
  });
});

describe('the launcher runs the checkout from a cached bundle', () => {
  it('three launchers started at once into an empty cache all run; one bundle is left, no private build directory', async () => {
    const cache = temp('rtprobe-cache-');
    const results = await Promise.all([0, 1, 2].map(() => runCli(['--version'], { env: { RTPROBE_CACHE_DIR: cache } })));
    for (const result of results) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^rtprobe \d+\.\d+\.\d+/);
    }
    expect(readdirSync(cache)).toEqual([bundleKey(ROOT)]);
    for (const file of ['rtprobe', 'lib/main.mjs', 'lib/rtprobe_native.node']) expect(existsSync(join(cache, bundleKey(ROOT), file)), file).toBe(true);
  });

  it('keeps the 4 newest older bundles and a build in progress, and removes the rest and abandoned builds', async () => {
    const cache = temp('rtprobe-cache-');
    const old = (name: string, ageS: number): void => {
      mkdirSync(join(cache, name));
      const when = new Date(Date.now() - ageS * 1000);
      utimesSync(join(cache, name), when, when);
    };
    for (let i = 1; i <= 6; i++) old(`old${i}`, i * 100);
    old('abandoned.tmp-1', 120);
    old('building.tmp-2', 1);
    const result = await runCli(['--version'], { env: { RTPROBE_CACHE_DIR: cache } });
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(cache).sort()).toEqual([bundleKey(ROOT), 'building.tmp-2', 'old1', 'old2', 'old3', 'old4'].sort());
  });

  it('falls back to the sources through tsx where the cache cannot be written, and with RTPROBE_FROM_SOURCE=1', async () => {
    const blocker = join(temp('rtprobe-cache-'), 'not-a-directory');
    writeFileSync(blocker, '');
    for (const env of [{ RTPROBE_CACHE_DIR: join(blocker, 'cache') }, { RTPROBE_FROM_SOURCE: '1' }]) {
      const result = await runCli(['--version'], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^rtprobe \d+\.\d+\.\d+/);
    }
  });

  it('an agent that built the bundle keeps no child process (esbuild\'s service is stopped once built)', async () => {
    const cache = temp('rtprobe-cache-');
    const agent = await startAgent([], '127.0.0.1:0', { RTPROBE_CACHE_DIR: cache });
    try {
      expect(readdirSync(cache)).toEqual([bundleKey(ROOT)]); // it built the bundle itself
      expect(childrenOf(agent.child.pid ?? -1)).toEqual([]);
    } finally {
      await agent.stop();
    }
  });

  it("does not start tsx's loader thread: an agent from the cache has one thread fewer than one run through tsx", async () => {
    const threads = async (env: NodeJS.ProcessEnv): Promise<number> => {
      const agent = await startAgent([], '127.0.0.1:0', env);
      try {
        return readdirSync(`/proc/${agent.child.pid}/task`).length;
      } finally {
        await agent.stop();
      }
    };
    const cached = await threads({});
    const fromSource = await threads({ RTPROBE_FROM_SOURCE: '1' });
    expect(fromSource).toBe(cached + 1);
  });
});

