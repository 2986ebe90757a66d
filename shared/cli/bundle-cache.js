// The checkout runs from a bundle of itself, built on first use and again after any change.
//
// Why not the TypeScript through tsx, as before: tsx's loader runs in a second thread with a
// V8 isolate of its own (Node 20's module hooks), which keeps waking and collecting garbage
// for as long as the process lives: 6-19 µs of CPU per probe at 100 Hz, beside a controller
// whose own cost is measured against fping's. A bundle is plain JavaScript in the main thread,
// and it is what `npm run build` ships, so the checkout runs the shipped thing.
//
// dist/cli-cache/KEY/ (or $RTPROBE_CACHE_DIR/KEY/) is that bundle (bundle-writer.js), KEY a hash of the name, size and
// mtime of every file it is built from (the sources, package files, both addons). A build takes
// ~0.5 s, once per change; concurrent first runs each build into a private directory and the
// first rename wins. Where it cannot be built (a read-only checkout without RTPROBE_CACHE_DIR,
// no esbuild), the launcher falls back to tsx; RTPROBE_FROM_SOURCE=1 asks for tsx.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE_DIRS = ['controller', 'agent', 'shared'];
const SKIPPED = new Set(['node_modules', 'build']);
const OTHER_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md',
  'shared/native/build/Release/rtprobe_native.node', 'node_modules/raw-socket/build/Release/raw.node'];
/** bundles kept besides the current one: a long soak started from an older one still finds its lazy chunks */
const KEEP_OLDER = 4;

function listFiles(root, dir, out) {
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED.has(entry.name)) listFiles(root, path, out);
    } else if (entry.isFile()) {
      out.push(path);
    }
  }
}

/** A hash of what the bundle is built from: any edit, addition, removal or rebuild changes it. */
export function bundleKey(root) {
  const files = [];
  for (const dir of SOURCE_DIRS) listFiles(root, dir, files);
  files.sort();
  const hash = createHash('sha256').update(process.version);
  for (const file of [...files, ...OTHER_INPUTS]) {
    let stamp = 'missing';
    try {
      const st = statSync(join(root, file));
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {}
    hash.update(`${file}\0${stamp}\0`);
  }
  return hash.digest('hex').slice(0, 16);
}

function removeOldBundles(cacheDir, current) {
  const others = readdirSync(cacheDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== current)
    .map((e) => ({ path: join(cacheDir, e.name), building: e.name.includes('.tmp-'), mtimeMs: statSync(join(cacheDir, e.name)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  // A private build directory is another process's build in progress, or left by one that
  // failed once it is a minute old.
  const stale = [
    ...others.filter((o) => !o.building).slice(KEEP_OLDER),
    ...others.filter((o) => o.building && Date.now() - o.mtimeMs > 60_000),
  ];
  for (const { path } of stale) rmSync(path, { recursive: true, force: true });
}

/**
 * The up-to-date bundle's entry module (CACHE/KEY/lib/main.mjs), built now if needed; null
 * where it cannot be built here (tsx runs the sources then).
 */
export async function cachedBundleEntry(root, cacheDir = process.env.RTPROBE_CACHE_DIR || join(root, 'dist', 'cli-cache')) {
  try {
    const key = bundleKey(root);
    const dir = join(cacheDir, key);
    const entry = join(dir, 'lib', 'main.mjs');
    try {
      statSync(entry);
      return entry;
    } catch {}
    mkdirSync(cacheDir, { recursive: true });
    const building = join(cacheDir, `${key}.tmp-${process.pid}`);
    const { writeBundle } = await import('./bundle-writer.js');
    try {
      await writeBundle(building, { logLevel: 'silent' });
    } catch (error) {
      // A failed build (a syntax error: tsx will show it) leaves nothing behind.
      rmSync(building, { recursive: true, force: true });
      throw error;
    }
    try {
      renameSync(building, dir);
    } catch {
      // Another process got there first with the same inputs: use its bundle.
      rmSync(building, { recursive: true, force: true });
      statSync(entry);
    }
    removeOldBundles(cacheDir, key);
    return entry;
  } catch {
    return null;
  }
}
