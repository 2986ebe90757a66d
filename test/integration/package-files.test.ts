import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { license: string };

describe('what npm pack ships', () => {
  it('the LICENSE matching package.json, the code and the Grafana dashboard; no tests, CI, fixtures or build output', () => {
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(pack.status, pack.stderr).toBe(0);
    const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files).toContain('shared/cli/rtprobe.js');
    expect(files).toContain('controller/soak/grafana-dashboard.json');
    expect(files.filter((f) => /^(test|\.ci|dist)\/|(^|\/)node_modules\/|(^|\/)build\/|\.test\.ts$/.test(f))).toEqual([]);
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(new URL('../../LICENSE', import.meta.url), 'utf8').split('\n')[0]).toBe('MIT License');
  });
});
