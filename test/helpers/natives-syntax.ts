import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs an ES module script (TypeScript imports through tsx, paths from the repository's root) in
 * a child Node with --allow-natives-syntax, so that it can ask V8 itself (%GetOptimizationStatus,
 * %HaveSameMap), and returns the JSON of its last line of output; fails the test if it fails.
 */
export function runWithNativesSyntax<T>(script: string): T {
  const child = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  expect(child.status, `${child.stderr}${child.error?.message ?? ''}`).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as T;
}
