import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/cli/write-file-atomic.js';

/** One .hgrm to write: whose it is and its text. */
export interface HgrmFile {
  target: string;
  /** the hlog tag (report); none for compare's RTT */
  tag?: string;
  text: string;
}

/** TARGET[-TAG].hgrm, kept to one path component whatever a target name holds. */
export function hgrmFileName(target: string, tag?: string): string {
  const label = tag === undefined ? target : `${target}-${tag === '' ? 'untagged' : tag}`;
  return `${label.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_')}.hgrm`;
}

/**
 * --hgrm DIR, the same in `report` and `compare`: DIR/TARGET[-TAG].hgrm each (DIR was created
 * and checked before the work began); returns the paths written and the messages of failures.
 */
export function writeHgrmDir(dir: string, files: readonly HgrmFile[]): { written: string[]; errors: string[] } {
  const written: string[] = [];
  const errors: string[] = [];
  for (const file of files) {
    const path = join(dir, hgrmFileName(file.target, file.tag));
    try {
      writeFileAtomic(path, file.text);
      written.push(path);
    } catch (error) {
      errors.push(`cannot write --hgrm ${path}: ${(error as Error).message}`);
    }
  }
  return { written, errors };
}
