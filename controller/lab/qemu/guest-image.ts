/**
 * The QEMU guest's boot image, built from the host's own parts: a Debian kernel
 * (linux-image-amd64) and an initramfs holding busybox (busybox-static), the NIC drivers, this
 * host's `node` with the libraries `ldd` names, and the rtprobe bundle (`npm run build`).
 * Cached: rebuilt only when an input (a file's size and mtime, the bundle's bytes, /init)
 * changes.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { IS_BUNDLE, RTPROBE_CLI } from '../../../shared/cli/build-info.js';
import { writeCpioNewc, type CpioEntry } from './cpio-newc.js';
import { GUEST_BUNDLE_DIR, guestInitScript } from './guest-init.js';
import { driverModules, type GuestNic } from './guest-nics.js';
import { modulesInLoadOrder, parseModulesDep } from './module-deps.js';
import { findOnPath } from '../lab-system.js';

export interface GuestImage {
  kernel: string;
  kernelVersion: string;
  initrd: string;
  /** true when the cached image was used as it was */
  cached: boolean;
  bytes: number;
}

/** Programs copied into the guest when the host has them: loads in the guest (load-spec.ts). */
const GUEST_TOOLS = ['hackbench'];

/** A missing host part, named with the Debian package that brings it. */
export class MissingPartError extends Error {}

/** The newest /boot/vmlinuz-VERSION whose modules are installed (linux-image-amd64). */
export function findGuestKernel(boot = '/boot', modulesRoot = '/lib/modules'): { kernel: string; version: string } | Error {
  const versions = (existsSync(boot) ? readdirSync(boot) : [])
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => existsSync(join(modulesRoot, v, 'modules.dep')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const version = versions.at(-1);
  if (!version) return new MissingPartError('no guest kernel with its modules in /boot and /lib/modules: apt-get install --no-install-recommends linux-image-amd64');
  return { kernel: join(boot, `vmlinuz-${version}`), version };
}

/** True for an ELF file without a program interpreter (PT_INTERP): it runs in a bare initramfs. */
export function isStaticElf(bytes: Buffer): boolean {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2 /* 64-bit */) return false;
  const phoff = Number(bytes.readBigUInt64LE(32));
  const phentsize = bytes.readUInt16LE(54);
  const phnum = bytes.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > bytes.length) return false;
    if (bytes.readUInt32LE(at) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

export function findBusybox(path = '/bin/busybox'): string | Error {
  if (!existsSync(path)) return new MissingPartError(`no ${path}: apt-get install --no-install-recommends busybox-static`);
  if (!isStaticElf(readFileSync(path))) return new MissingPartError(`${path} is linked dynamically: apt-get install --no-install-recommends busybox-static`);
  return path;
}

/** Library paths from `ldd` output: `libc.so.6 => /lib/…/libc.so.6 (0x…)` and the loader `/lib64/ld-linux…`. */
export function parseLdd(text: string): string[] {
  const paths: string[] = [];
  for (const line of text.split('\n')) {
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match?.[1]) paths.push(match[1]);
  }
  return [...new Set(paths)];
}

/** The bundle to put in the guest: this one when we run from a bundle, else one built now. */
function bundleDir(work: string): string | Error {
  if (IS_BUNDLE) return dirname(RTPROBE_CLI);
  const out = join(work, 'bundle', 'rtprobe');
  const build = spawnSync(process.execPath, [join(dirname(RTPROBE_CLI), 'build-bundle.js'), '--out', out, '--no-tarball'], { encoding: 'utf8' });
  if (build.status !== 0) return new Error(`npm run build failed: ${(build.stderr || build.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  return out;
}

function listTree(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(path, ...listTree(path));
    else out.push(path);
  }
  return out;
}

/** Directories of a path, outermost first: usr, usr/lib, usr/lib/x86_64-linux-gnu. */
function parents(path: string): string[] {
  const parts = path.replace(/^\/+/, '').split('/').slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Host files into the archive at the same path (a symlinked library arrives as the file it names). */
function addHostFile(entries: CpioEntry[], dirs: Set<string>, hostPath: string, guestPath = hostPath, mode?: number): void {
  for (const dir of parents(guestPath)) {
    if (!dirs.has(dir)) { dirs.add(dir); entries.push({ kind: 'dir', path: dir }); }
  }
  const stat = statSync(hostPath);
  entries.push({ kind: 'file', path: guestPath, data: readFileSync(hostPath), mode: mode ?? (stat.mode & 0o777) });
}

/** Builds (or reuses) the image under `cacheDir` for these NICs. */
export function buildGuestImage(cacheDir: string, nics: readonly GuestNic[], agentFlags: readonly string[] = []): GuestImage | Error {
  const kernel = findGuestKernel();
  if (kernel instanceof Error) return kernel;
  const busybox = findBusybox();
  if (busybox instanceof Error) return busybox;
  const moduleRoot = join('/lib/modules', kernel.version);
  const modules = modulesInLoadOrder(parseModulesDep(readFileSync(join(moduleRoot, 'modules.dep'), 'utf8')), driverModules(nics));
  if (modules instanceof Error) return modules;
  const node = process.execPath;
  // hackbench (rt-tests) for loads in the guest, when the host has it
  const tools = GUEST_TOOLS.map((tool) => findOnPath(tool)).filter((path): path is string => path !== null);
  let libraries: string[];
  try {
    libraries = [...new Set([node, ...tools].flatMap((binary) => parseLdd(execFileSync('ldd', [binary], { encoding: 'utf8' }))))];
  } catch (error) {
    return new Error(`ldd: ${(error as Error).message}`);
  }
  mkdirSync(cacheDir, { recursive: true });
  const bundle = bundleDir(cacheDir);
  if (bundle instanceof Error) return bundle;
  const init = guestInitScript({ modules, kernelVersion: kernel.version, nics, agentFlags });

  // Inputs: host files by path, size and mtime (a package upgrade changes them), the bundle and
  // /init by content.
  const hash = createHash('sha256').update(init);
  for (const file of [kernel.kernel, busybox, node, ...tools, ...libraries, ...modules.map((m) => join(moduleRoot, m))]) {
    const stat = statSync(file);
    hash.update(`${file}\0${stat.size}\0${stat.mtimeMs}\0`);
  }
  const bundleFiles = listTree(bundle).filter((f) => statSync(f).isFile()).sort();
  for (const file of bundleFiles) hash.update(relative(bundle, file)).update(readFileSync(file));
  const key = hash.digest('hex').slice(0, 16);
  const initrd = join(cacheDir, `initrd-${key}.cpio.gz`);
  if (existsSync(initrd)) return { kernel: kernel.kernel, kernelVersion: kernel.version, initrd, cached: true, bytes: statSync(initrd).size };

  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  for (const dir of ['bin', 'dev', 'proc', 'sys', 'run', 'tmp', 'etc', 'usr', 'usr/bin']) { dirs.add(dir); entries.push({ kind: 'dir', path: dir }); }
  entries.push({ kind: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 });
  addHostFile(entries, dirs, busybox, 'bin/busybox', 0o755);
  addHostFile(entries, dirs, node, 'usr/bin/node', 0o755);
  for (const tool of tools) addHostFile(entries, dirs, tool, `usr/bin/${basename(tool)}`, 0o755);
  for (const lib of libraries) addHostFile(entries, dirs, lib);
  for (const m of modules) addHostFile(entries, dirs, join(moduleRoot, m));
  for (const file of bundleFiles) addHostFile(entries, dirs, file, join(GUEST_BUNDLE_DIR, relative(bundle, file)));
  // the launcher's `#!/usr/bin/env node` needs env, which busybox --install provides in /bin
  entries.push({ kind: 'symlink', path: 'usr/bin/env', target: '/bin/busybox' });
  const archive = writeCpioNewc(entries);
  if (archive instanceof Error) return archive;
  // gzip -1: the kernel unpacks it on a slow emulated CPU; a smaller level saves little here.
  const packed = gzipSync(archive, { level: 1 });
  const partial = `${initrd}.partial`;
  writeFileSync(partial, packed);
  renameSync(partial, initrd);
  // one image is kept: the one of the current inputs
  for (const old of readdirSync(cacheDir).filter((f) => /^initrd-[0-9a-f]+\.cpio\.gz$/.test(f) && join(cacheDir, f) !== initrd)) {
    rmSync(join(cacheDir, old), { force: true });
  }
  return { kernel: kernel.kernel, kernelVersion: kernel.version, initrd, cached: false, bytes: packed.length };
}
