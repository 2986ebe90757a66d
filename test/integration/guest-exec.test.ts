/**
 * The QEMU lab's load service (controller/lab/qemu/guest-exec.ts) on loopback: the same code
 * that runs inside the guest, so its protocol is checked without QEMU.
 */
import type { Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExecRequest, runInGuest, serveGuestExec } from '../../controller/lab/qemu/guest-exec.js';
import { isAlive } from '../../controller/lab/lab-system.js';
import { waitFor } from '../helpers/wait-for.js';

const TOKEN = 'a'.repeat(32);

describe('guest-exec: a load in the guest, started and stopped from the host', () => {
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = await serveGuestExec('127.0.0.1', 0, TOKEN);
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('runs the command, streams its output, reports its exit code', async () => {
    let output = '';
    const remote = runInGuest('127.0.0.1', port, TOKEN, ['sh', '-c', 'echo one; echo two >&2; exit 7'], (text) => { output += text; });
    expect(await remote.done).toBe(7);
    expect(output).toContain('one\n');
    expect(output).toContain('two\n');
  });

  it('stop ends the whole process group in the guest and the exit line still arrives', async () => {
    let output = '';
    const remote = runInGuest('127.0.0.1', port, TOKEN, ['sh', '-c', 'sleep 60 & echo "child $!"; wait'], (text) => { output += text; });
    await waitFor(() => /child \d+/.test(output), { what: 'the load to start', timeoutMs: 10_000 });
    const child = Number(/child (\d+)/.exec(output)?.[1]);
    expect(isAlive(child)).toBe(true);
    remote.stop();
    expect(await remote.done).toBe('SIGTERM');
    await waitFor(() => !isAlive(child), { what: 'the background sleep to end with its group', timeoutMs: 5000 });
  });

  it('a wrong token runs nothing', async () => {
    let output = '';
    const remote = runInGuest('127.0.0.1', port, 'b'.repeat(32), ['sh', '-c', 'echo ran'], (text) => { output += text; });
    expect(await remote.done).toBeNull();
    expect(output).toBe('bad token\n');
  });

  it('parseExecRequest refuses a bad token, bad JSON and a non-list', () => {
    expect(parseExecRequest(`TOKEN ${TOKEN}\n["true"]\n`, TOKEN)).toEqual(['true']);
    expect(parseExecRequest(`TOKEN ${TOKEN}x\n["true"]\n`, TOKEN)).toBeInstanceOf(Error);
    expect(parseExecRequest(`TOKEN ${TOKEN}\n{"a":1}\n`, TOKEN)).toBeInstanceOf(Error);
    expect(parseExecRequest(`TOKEN ${TOKEN}\nnot json\n`, TOKEN)).toBeInstanceOf(Error);
    expect(parseExecRequest(`TOKEN ${TOKEN}\n[]\n`, TOKEN)).toBeInstanceOf(Error);
  });
});
