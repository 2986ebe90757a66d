import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';

const FLAGS_MODULE = new URL('../../../shared/cli/v8-start-flags.js', import.meta.url).href;

/**
 * A process shaped like rtprobe's start: with or without the start flags, it grows V8's old
 * generation by a few MB, too little for a full collection of the heap's own (as loading a
 * command does: none in 150 s of a 100 Hz run), then idles. (A full collection would arm the
 * reducer with or without the flags.)
 */
const CHILD = `
if (process.env.WITH_FLAGS === '1') await import(process.env.FLAGS_MODULE);
const kept = [];
for (let i = 0; i < 15000; i++) kept.push({ i, s: 'x' + i, a: [i, i + 1] });
for (let r = 0; r < 20; r++) { const g = []; for (let i = 0; i < 20000; i++) g.push({ r, i }); }
globalThis.kept = kept;
setTimeout(() => {}, 120_000); // idle (no timer wake-ups that allocate) until killed
`;

/** The reducer looks at the heap every 8 s (V8's kLongDelayMs) once armed. */
const REDUCER_PERIOD_MS = 8000;

interface Traced {
  child: ChildProcess;
  /** ms since the child's start of its first memory-reducer collection, once seen */
  reducedAtMs: Promise<number>;
  output: () => string;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function traced(withFlags: boolean): Traced {
  // --trace-gc names the reducer's collections "Mark-Compact (reduce)"; a short start delay
  // brings its first look forward (the rest of its timing is V8's own).
  const child = spawn(process.execPath, ['--trace-gc', '--gc-memory-reducer-start-delay-ms=200', '--input-type=module', '-e', CHILD], {
    env: { ...process.env, WITH_FLAGS: withFlags ? '1' : '0', FLAGS_MODULE },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let text = '';
  const reducedAtMs = new Promise<number>((resolve) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const seen = /(\d+) ms: Mark-Compact \(reduce\)/.exec(text);
      if (seen) resolve(Number(seen[1]));
    });
  });
  return { child, reducedAtMs, output: () => text };
}

describe('V8 start flags (shared/cli/v8-start-flags.js)', () => {
  it('keep the memory reducer from collecting in a process whose old generation grew at start', async () => {
    const plain = traced(false);
    const flagged = traced(true);
    // Without the flags the reducer collects (else this setup shows nothing)...
    let timer: NodeJS.Timeout | undefined;
    const reducedAtMs = await Promise.race([plain.reducedAtMs, new Promise<number>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reducer collection without the flags:\n${plain.output()}`)), 60_000);
    })]).finally(() => clearTimeout(timer));
    // ...and with them it has not, a look of the reducer's after the plain process's collection.
    await new Promise((resolve) => setTimeout(resolve, REDUCER_PERIOD_MS + 1000));
    expect(flagged.child.exitCode).toBeNull();
    expect(flagged.output()).not.toMatch(/Mark-Compact \(reduce\)/);
    expect(reducedAtMs).toBeGreaterThan(0);
  }, 80_000);
});
