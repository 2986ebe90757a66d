// Builds the native addon (shared/native) during `npm ci` / `npm install` of the root package.
// A failed build must not fail the install: rtprobe then runs with user-space timestamps.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = dirname(fileURLToPath(import.meta.url));
const rootDir = join(nativeDir, '..', '..');

function warn(reason) {
  console.warn(`rtprobe: native addon not built (${reason}); falling back to user-space timestamps`);
}

function findNodeGyp() {
  const local = join(rootDir, 'node_modules', '.bin', 'node-gyp');
  if (existsSync(local)) return local;
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  return 'node-gyp'; // whatever is on PATH
}

function main() {
  if (process.platform !== 'linux') {
    warn(`platform ${process.platform} is not supported, Linux only`);
    return;
  }
  const env = { ...process.env };
  // Debian's nodejs ships the headers under /usr/include/node: build against them instead of
  // downloading a tarball (this machine cannot reach nodejs.org).
  if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';

  let nodeGyp = findNodeGyp();
  let args = ['rebuild'];
  // A JS entry point (npm_config_node_gyp points at bin/node-gyp.js) is run with this node.
  if (nodeGyp.endsWith('.js')) {
    args = [nodeGyp, ...args];
    nodeGyp = process.execPath;
  }
  const result = spawnSync(nodeGyp, args, { cwd: nativeDir, env, encoding: 'utf8' });
  if (result.error) {
    warn(`cannot run ${nodeGyp}: ${result.error.message}`);
    return;
  }
  if (result.status !== 0) {
    // Keep the compiler's output where it helps, but end with the one-line verdict.
    const log = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n');
    const firstError = log.find((line) => /error/i.test(line)) ?? log.at(-1) ?? 'no output';
    if (process.env.RTPROBE_BUILD_VERBOSE === '1') console.warn(log.join('\n'));
    warn(`node-gyp rebuild exited with ${result.status ?? result.signal}: ${firstError.trim()}`);
    return;
  }
  if (!existsSync(join(nativeDir, 'build', 'Release', 'rtprobe_native.node'))) {
    warn('node-gyp succeeded but build/Release/rtprobe_native.node is missing');
  }
}

try {
  main();
} catch (err) {
  warn(err instanceof Error ? err.message : String(err));
}
process.exitCode = 0;
