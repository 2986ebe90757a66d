/**
 * The initramfs archive format the Linux kernel unpacks at boot: cpio "newc" (SVR4 without
 * checksums), as `cpio -H newc` writes it. Pure: entries in, one Buffer out, so the guest image
 * needs no cpio binary on the host. Layout per entry: a 110-byte ASCII header (magic 070701 and
 * thirteen 8-digit hex fields), the NUL-terminated name, padding to 4 bytes, the data, padding to
 * 4 bytes; the archive ends with an entry named TRAILER!!!.
 */

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const HEADER_BYTES = 110;

function pad4(length: number): number {
  return (4 - (length % 4)) % 4;
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function entryBytes(ino: number, name: string, mode: number, data: Buffer): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const fields = [
    ino, mode, 0 /* uid */, 0 /* gid */, mode & S_IFDIR ? 2 : 1 /* nlink */, 0 /* mtime: reproducible */,
    data.length, 0, 0 /* dev major/minor */, 0, 0 /* rdev major/minor */, nameBytes.length, 0 /* check */,
  ];
  const header = Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii');
  return Buffer.concat([
    header, nameBytes, Buffer.alloc(pad4(HEADER_BYTES + nameBytes.length)),
    data, Buffer.alloc(pad4(data.length)),
  ]);
}

/** Paths without a leading slash, as the kernel expects them (`bin/busybox`, not `/bin/busybox`). */
function archivePath(path: string): string | Error {
  const clean = path.replace(/^\/+/, '');
  if (clean === '' || clean.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    return new Error(`cpio: not a plain relative path: ${JSON.stringify(path)}`);
  }
  return clean;
}

/** The archive of `entries` in the order given (a directory must come before what it holds). */
export function writeCpioNewc(entries: readonly CpioEntry[]): Buffer | Error {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const entry of entries) {
    const path = archivePath(entry.path);
    if (path instanceof Error) return path;
    switch (entry.kind) {
      case 'dir':
        parts.push(entryBytes(ino++, path, S_IFDIR | (entry.mode ?? 0o755), Buffer.alloc(0)));
        break;
      case 'file':
        parts.push(entryBytes(ino++, path, S_IFREG | (entry.mode ?? 0o644), entry.data));
        break;
      case 'symlink':
        parts.push(entryBytes(ino++, path, S_IFLNK | 0o777, Buffer.from(entry.target, 'utf8')));
        break;
    }
  }
  parts.push(entryBytes(0, 'TRAILER!!!', 0, Buffer.alloc(0)));
  return Buffer.concat(parts);
}
