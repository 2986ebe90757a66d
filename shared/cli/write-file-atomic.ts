import { lstatSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

/**
 * Writes a file whole or not at all (readers never see half a report): a temporary file beside
 * it, renamed over it. What is not a regular file is written as it is: a rename would replace
 * it. `--json /dev/null`, as root, once replaced the null device with a regular file that every
 * later `> /dev/null` on the machine appended to until its file system was full. A FIFO, a
 * terminal or /dev/stdout is no better off. A symbolic link is followed: the file it names is
 * replaced, and the link stays.
 */
export function writeFileAtomic(path: string, text: string): void {
  const target = existingTarget(path);
  if (target !== null && !target.regular) {
    writeFileSync(path, text);
    return;
  }
  const destination = target?.path ?? path;
  const temporary = `${destination}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, destination);
  } catch (error) {
    // a full disk must not also leave a half-written temporary file behind
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** What `path` names now, links followed: null if nothing (or a dangling link, which the rename then replaces). */
function existingTarget(path: string): { path: string; regular: boolean } | null {
  try {
    const regular = statSync(path).isFile();
    return { path: lstatSync(path).isSymbolicLink() ? realpathSync(path) : path, regular };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
