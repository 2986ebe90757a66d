// `node shared/cli/build-sea.js`: dist/rtprobe-agent, `rtprobe agent` as one executable file
// (Node's single executable applications, SEA) for guests that have no node: a copy of the node
// running this script (stripped of its debug symbols when `strip` is found) with a blob injected
// by postject that holds
//   - one CommonJS bundle (esbuild) of agent/agent-command.ts and what it imports: Node 20's SEA
//     runs a single CJS script, no ESM, no import() of files, and its `require` knows only the
//     built-in modules;
//   - our addon as the SEA asset `rtprobe_native.node`: at start, when the agent first wants it,
//     written to a private directory under $TMPDIR (default /tmp; it must not be mounted noexec),
//     loaded with process.dlopen and deleted again at once (shared/native/native-addon.ts's
//     setNativeAddonSource).
// The executable needs in the guest only what node itself and the addon need: glibc (as new as
// the build machine's, for the addon) and libstdc++.so.6. It takes the agent's flags;
// `rtprobe-agent agent ARGS` is the same as `rtprobe-agent ARGS`, `--version` prints the version.
// It fails with an explanation where this node cannot make one: no SEA assets (< 20.12), node
// linked to a shared libnode (the copy would still need libnode.so in the guest), no SEA fuse.
// Needs the npm package postject (resolved from the project, or through NODE_PATH).
//   --out FILE     write the executable there instead of dist/rtprobe-agent
//   --check        build nothing: print why it cannot be built here and exit 1, or exit 0
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const ADDON = join(root, 'shared', 'native', 'build', 'Release', 'rtprobe_native.node');
const ADDON_ASSET = 'rtprobe_native.node';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const POSTJECT_HINT = 'npm install --save-dev postject@1.0.0-alpha.6';

function fail(message) {
  process.stderr.write(`rtprobe build-sea: ${message}\n`);
  process.exit(2);
}

/** Why this node cannot be made into a single executable here, or null when it can. */
function seaUnsupportedReason(nodePath = process.execPath) {
  if (!existsSync(ADDON)) return `${ADDON} is missing: build the addon first (npm ci, or node shared/native/build-addon.js)`;
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12)) {
    return `node ${process.version} has no SEA assets (node:sea getAsset needs >= 20.12)`;
  }
  if (process.config.variables.node_shared === true) {
    return `${nodePath} is linked to a shared libnode (node_shared): a copy of it would still need libnode.so in the guest`;
  }
  const fuse = readFileSync(nodePath).indexOf(`${SEA_FUSE}:`);
  if (fuse === -1) return `${nodePath} has no SEA fuse (${SEA_FUSE}): built without single executable support`;
  try {
    postjectPath();
  } catch {
    return `postject is not installed (${POSTJECT_HINT})`;
  }
  return null;
}

function postjectPath() {
  return createRequire(join(root, 'package.json')).resolve('postject');
}

/**
 * The SEA's main script. native-addon.ts is told to take the addon from the SEA asset; the
 * extracted file lives only until dlopen has mapped it.
 */
const ENTRY = `
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAsset } from 'node:sea';
import { agentCommand } from './agent/agent-command.js';
import { RTPROBE_VERSION } from './shared/cli/build-info.js';
import { setNativeAddonSource } from './shared/native/native-addon.js';

let addon: { exports: unknown } | undefined;
setNativeAddonSource({
  where: \`the addon inside \${process.execPath}, extracted to \${tmpdir()}\`,
  hint: 'TMPDIR must be writable and not mounted noexec; else rebuild rtprobe-agent (node shared/cli/build-sea.js) on a machine like this one',
  load() {
    if (addon) return addon.exports;
    const dir = mkdtempSync(join(tmpdir(), 'rtprobe-agent-'));
    try {
      const file = join(dir, ${JSON.stringify(ADDON_ASSET)});
      writeFileSync(file, new Uint8Array(getAsset(${JSON.stringify(ADDON_ASSET)})), { mode: 0o500, flag: 'wx' });
      const loaded = { exports: {} as unknown };
      process.dlopen(loaded, file);
      addon = loaded;
      return loaded.exports;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

const argv = process.argv.slice(2);
if (argv[0] === 'agent') argv.shift();
if (argv[0] === '--version' || argv[0] === '-V') {
  process.stdout.write(\`rtprobe-agent \${RTPROBE_VERSION}\\n\`);
} else {
  agentCommand(argv).then((code) => {
    process.exitCode = code;
  }, (error: unknown) => {
    process.stderr.write(\`rtprobe agent: internal error: \${(error as Error).stack ?? String(error)}\\n\`);
    process.exitCode = 70;
  });
}
`;

async function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' }, check: { type: 'boolean' } } });
  const out = resolve(values.out ?? join(root, 'dist', 'rtprobe-agent'));
  const unsupported = seaUnsupportedReason();
  if (values.check) {
    process.stdout.write(`${unsupported ?? 'a single executable can be built here'}\n`);
    process.exit(unsupported ? 1 : 0);
  }
  if (unsupported) fail(`cannot build a single executable here: ${unsupported}`);

  const work = mkdtempSync(join(tmpdir(), 'rtprobe-sea-'));
  try {
    const script = join(work, 'agent.cjs');
    await build({
      absWorkingDir: root,
      stdin: { contents: ENTRY, loader: 'ts', resolveDir: root, sourcefile: 'rtprobe-agent-sea.ts' },
      outfile: script,
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      define: {
        RTPROBE_BUNDLE: JSON.stringify({ version: pkg.version }),
        // CJS has no import.meta; the modules that ask get the executable's own URL.
        'import.meta.url': '__rtprobeImportMetaUrl',
      },
      banner: { js: "var __rtprobeImportMetaUrl = require('node:url').pathToFileURL(process.execPath).href;" },
      // ws tries these optional speed-ups in a try/catch: they are "not installed" here. (External,
      // the SEA's require, which finds only built-ins, would warn at every start.)
      plugins: [{
        name: 'absent-optional-modules',
        setup(b) {
          b.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (args) => ({ path: args.path, namespace: 'absent' }));
          b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
            contents: `throw new Error(${JSON.stringify(`${args.path} is not in rtprobe-agent`)});`, loader: 'js',
          }));
        },
      }],
      legalComments: 'none',
      logLevel: 'warning',
    });

    const config = join(work, 'sea-config.json');
    const blob = join(work, 'agent.blob');
    writeFileSync(config, JSON.stringify({
      main: script,
      output: blob,
      disableExperimentalSEAWarning: true,
      assets: { [ADDON_ASSET]: ADDON },
    }));
    execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'pipe' });

    const exe = join(work, 'rtprobe-agent');
    copyFileSync(process.execPath, exe);
    chmodSync(exe, 0o755);
    try {
      execFileSync('strip', ['--strip-all', exe], { stdio: 'pipe' });
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
      process.stderr.write('rtprobe build-sea: `strip` not found: the executable keeps node\'s symbols (~13 MB more)\n');
    }
    // In a child: postject's LIEF prints harmless warnings about node's many notes; shown on failure only.
    try {
      execFileSync(process.execPath, ['-e', `
        const [postject, exe, blob, fuse] = process.argv.slice(1);
        require(postject).inject(exe, 'NODE_SEA_BLOB', require('node:fs').readFileSync(blob), { sentinelFuse: fuse })
          .catch((error) => { console.error(error.message); process.exit(1); });
      `, postjectPath(), exe, blob, SEA_FUSE], { stdio: 'pipe' });
    } catch (error) {
      fail(`postject failed: ${String(error.stderr ?? error.message).trim()}`);
    }

    const version = execFileSync(exe, ['--version'], { encoding: 'utf8', env: {} }).trim();
    if (version !== `rtprobe-agent ${pkg.version}`) fail(`the executable does not run as expected: --version printed '${version}'`);
    mkdirSync(dirname(out), { recursive: true });
    rmSync(out, { force: true });
    copyFileSync(exe, out);
    chmodSync(out, 0o755);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const mib = (statSync(out).size / 2 ** 20).toFixed(1);
  process.stdout.write(`rtprobe-agent ${pkg.version}: ${out} (${mib} MiB, node ${process.version}, single executable)\n`);
}

await main();
