import { spawn, execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../shared/cli/write-file-atomic.js';

describe('writeFileAtomic: a report whole or not at all, and never a device or FIFO replaced by a file', () => {
  let dir = '';
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'rtprobe-atomic-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a new file and a file replaced are written whole, with no temporary file left beside them', () => {
    const path = join(dir, 'report.json');
    writeFileAtomic(path, 'first');
    writeFileAtomic(path, 'second, longer');
    expect(readFileSync(path, 'utf8')).toBe('second, longer');
    expect(readdirSync(dir)).toEqual(['report.json']);
  });

  it('a FIFO stays a FIFO, and its reader gets the text (a rename would have put a file in its place)', async () => {
    const fifo = join(dir, 'report.fifo');
    execFileSync('mkfifo', [fifo]);
    // the reader is another process: writing to a FIFO blocks until one opens it
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let read = '';
    reader.stdout.on('data', (chunk: Buffer) => { read += chunk.toString(); });
    try {
      writeFileAtomic(fifo, '{"targets":[]}');
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      await once(reader, 'close');
    } finally {
      reader.kill(); // (a reader never written to waits for ever)
    }
    expect(read).toBe('{"targets":[]}');
    expect(readdirSync(dir)).toEqual(['report.fifo']);
  });

  // A null device of the test's own (mknod needs root): were it replaced, /dev/null is not.
  const asRoot = process.getuid?.() === 0;
  (asRoot ? it : it.skip)(`a character device (a null device made in the test's directory) stays that device${asRoot ? '' : ' (skipped: mknod needs root)'}`, () => {
    const device = join(dir, 'null');
    execFileSync('mknod', ['-m', '666', device, 'c', '1', '3']);
    writeFileAtomic(device, 'nothing');
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
    expect(readFileSync(device, 'utf8')).toBe('');
    expect(readdirSync(dir)).toEqual(['null']);
  });

  it('a symbolic link stays a link, and the file it names is replaced whole', () => {
    const real = join(dir, 'real.json');
    const link = join(dir, 'latest.json');
    writeFileSync(real, 'old');
    symlinkSync('real.json', link);
    writeFileAtomic(link, 'new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('real.json');
    expect(readFileSync(real, 'utf8')).toBe('new');
    expect(readdirSync(dir).sort()).toEqual(['latest.json', 'real.json']);
  });

  it('a directory that does not exist is an error, and nothing is left behind', () => {
    expect(() => writeFileAtomic(join(dir, 'missing', 'report.json'), 'x')).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
