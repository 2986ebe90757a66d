// `npm run build`: the self-contained rtprobe for guests. Writes
//   dist/rtprobe/                 runs with nothing but node >= 20 and glibc, copied anywhere
//     rtprobe                     the launcher (#!/usr/bin/env node)
//     lib/*.mjs                   every command, bundled by esbuild; one chunk per command, loaded lazily
//     lib/rtprobe_native.node     our addon (kernel timestamps, RT sender and reflector threads)
//     lib/raw-*.node              raw-socket's addon (user-space ICMP), when it was built
//     systemd/rtprobe-agent.service, README.md, package.json (name, version)
//   dist/rtprobe-VERSION-linux-ARCH.tar.gz   of that directory
// `--out DIR` writes the directory (and the tarball beside it) elsewhere.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const ADDON = join(root, 'shared', 'native', 'build', 'Release', 'rtprobe_native.node');

function fail(message) {
  process.stderr.write(`rtprobe build: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({ options: { out: { type: 'string' }, 'no-tarball': { type: 'boolean' } } });
const outDir = resolve(values.out ?? join(root, 'dist', 'rtprobe'));
const libDir = join(outDir, 'lib');
if (!existsSync(ADDON)) fail(`${ADDON} is missing: build the addon first (npm ci, or node shared/native/build-addon.js)`);

rmSync(outDir, { recursive: true, force: true });
mkdirSync(libDir, { recursive: true });

await build({
  absWorkingDir: root,
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
  logLevel: 'warning',
});

copyFileSync(ADDON, join(libDir, 'rtprobe_native.node'));
// A CommonJS launcher (no extension, no package.json type) that imports the ESM entry chunk.
writeFileSync(join(outDir, 'rtprobe'), "#!/usr/bin/env node\n'use strict';\nimport('./lib/main.mjs');\n");
chmodSync(join(outDir, 'rtprobe'), 0o755);
mkdirSync(join(outDir, 'systemd'));
copyFileSync(join(root, 'agent', 'systemd', 'rtprobe-agent.service'), join(outDir, 'systemd', 'rtprobe-agent.service'));
copyFileSync(join(root, 'README.md'), join(outDir, 'README.md'));
writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true }, null, 2)}\n`);

let tarball = null;
if (!values['no-tarball']) {
  const arch = process.arch === 'x64' ? 'x64' : process.arch;
  tarball = join(dirname(outDir), `rtprobe-${pkg.version}-linux-${arch}.tar.gz`);
  execFileSync('tar', ['-czf', tarball, '-C', dirname(outDir), '--owner=0', '--group=0', basename(outDir)]);
}
process.stdout.write(`rtprobe ${pkg.version}: ${outDir}${tarball ? `, ${tarball}` : ''}\n`);
