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
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { packageInfo, ROOT, writeBundle } from './bundle-writer.js';

function fail(message) {
  process.stderr.write(`rtprobe build: ${message}\n`);
  process.exit(2);
}

const pkg = packageInfo();
const { values } = parseArgs({ options: { out: { type: 'string' }, 'no-tarball': { type: 'boolean' } } });
const outDir = resolve(values.out ?? join(ROOT, 'dist', 'rtprobe'));
try {
  await writeBundle(outDir);
} catch (error) {
  fail(error.message);
}

let tarball = null;
if (!values['no-tarball']) {
  const arch = process.arch === 'x64' ? 'x64' : process.arch;
  tarball = join(dirname(outDir), `rtprobe-${pkg.version}-linux-${arch}.tar.gz`);
  execFileSync('tar', ['-czf', tarball, '-C', dirname(outDir), '--owner=0', '--group=0', basename(outDir)]);
}
process.stdout.write(`rtprobe ${pkg.version}: ${outDir}${tarball ? `, ${tarball}` : ''}\n`);
