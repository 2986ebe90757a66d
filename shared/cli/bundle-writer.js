// Writes the self-contained rtprobe directory (esbuild bundle, addons, launcher, systemd unit):
// what `npm run build` ships (build-bundle.js) and what the checkout's launcher runs from
// (bundle-cache.js). One writer, so both are the same thing.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, stop } from 'esbuild';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ADDON = join(ROOT, 'shared', 'native', 'build', 'Release', 'rtprobe_native.node');

/** package.json's name and version */
export function packageInfo() {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
}

/**
 * Writes the bundle into outDir (replaced if it exists):
 *   rtprobe                     the launcher (#!/usr/bin/env node)
 *   lib/*.mjs                   every command, bundled by esbuild; one chunk per command, loaded lazily
 *   lib/rtprobe_native.node     our addon (kernel timestamps, RT sender and reflector threads)
 *   lib/raw-*.node              raw-socket's addon (user-space ICMP), when it was built
 *   systemd/rtprobe-agent.service, README.md, package.json (name, version)
 * Throws when the addon is not built or esbuild fails (which also prints at `logLevel`).
 */
export async function writeBundle(outDir, { logLevel = 'warning' } = {}) {
  const pkg = packageInfo();
  const libDir = join(outDir, 'lib');
  if (!existsSync(ADDON)) throw new Error(`${ADDON} is missing: build the addon first (npm ci, or node shared/native/build-addon.js)`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(libDir, { recursive: true });
  // esbuild serves builds from a child process that stays, and pings this one, until stopped.
  // The launcher builds in the process that then probes for hours (the first run after any
  // change, a fresh clone's `npm start`): its main thread answered those pings (a third of its
  // CPU at 10 Hz in a perf profile) and the child used ~2 ms a second (issue 15: the rig's own CPU use).
  try {
    await buildBundle(libDir, pkg, logLevel);
  } finally {
    await stop();
  }
  copyFileSync(ADDON, join(libDir, 'rtprobe_native.node'));
  // A CommonJS launcher (no extension, no package.json type) that imports the ESM entry chunk.
  writeFileSync(join(outDir, 'rtprobe'), "#!/usr/bin/env node\n'use strict';\nimport('./lib/main.mjs');\n");
  chmodSync(join(outDir, 'rtprobe'), 0o755);
  mkdirSync(join(outDir, 'systemd'));
  copyFileSync(join(ROOT, 'agent', 'systemd', 'rtprobe-agent.service'), join(outDir, 'systemd', 'rtprobe-agent.service'));
  copyFileSync(join(ROOT, 'README.md'), join(outDir, 'README.md'));
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true }, null, 2)}\n`);
}

function buildBundle(libDir, pkg, logLevel) {
  return build({
    absWorkingDir: ROOT,
    entryPoints: { main: 'shared/cli/main.ts' },
    outdir: libDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // raw-socket's `require("./build/Release/raw.node")` becomes a copy of the file beside the chunk.
    loader: { '.node': 'copy' },
    // The sources ask for it; the bundle knows where it is and what version it is.
    define: { RTPROBE_BUNDLE: JSON.stringify({ version: pkg.version }) },
    // CommonJS dependencies (ws, hdr-histogram-js, raw-socket) call require(): give ESM chunks one.
    banner: { js: "import { createRequire as __rtprobeCreateRequire } from 'node:module'; const require = __rtprobeCreateRequire(import.meta.url);" },
    // ws loads these optional speed-ups when present; the bundle runs without them.
    external: ['bufferutil', 'utf-8-validate'],
    chunkNames: '[name]-[hash]',
    legalComments: 'none',
    logLevel,
  });
}
