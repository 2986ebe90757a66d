import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The few file operations the interval log writer uses, as an interface so that tests can
 * fail them (a full disk at the 3rd write) without filling a disk.
 */
export interface HlogFile {
  /** bytes read into buffer from position (fewer at the end of the file) */
  read(buffer: Buffer, position: number): Promise<number>;
  /** writes all of data at position; a throw may leave part of it written */
  write(data: Buffer, position: number): Promise<void>;
  /** fsync: the bytes are on the disk when it resolves */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

/** 'create' fails when the file exists; 'append' opens an existing one for reading and writing. */
export type OpenHlogFile = (path: string, mode: 'create' | 'append') => Promise<HlogFile>;

/** A new file's directory entry must survive a power cut too, not just its bytes. */
async function syncDirectory(path: string): Promise<void> {
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } catch {
    // some file systems refuse fsync on a directory; the file's own fsync still holds
  } finally {
    await directory.close();
  }
}

export const openHlogFile: OpenHlogFile = async (path, mode) => {
  const handle = await open(path, mode === 'create' ? 'wx' : 'r+', 0o644);
  if (mode === 'create') await syncDirectory(path);
  return {
    read: async (buffer, position) => (await handle.read(buffer, 0, buffer.length, position)).bytesRead,
    write: async (data, position) => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    },
    sync: () => handle.sync(),
    truncate: (length) => handle.truncate(length),
    size: async () => (await handle.stat()).size,
    close: () => handle.close(),
  };
};
