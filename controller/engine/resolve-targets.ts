import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { TargetSpec } from './run-config.js';
import type { ResolvedTarget } from '../recording/target-stats.js';

/** Resolves host names once, before the schedule starts; a failure names the target. */
export async function resolveTargets(specs: TargetSpec[]): Promise<ResolvedTarget[] | Error> {
  const resolved: ResolvedTarget[] = [];
  for (const spec of specs) {
    const literal = isIP(spec.host);
    if (literal === 4 || literal === 6) {
      resolved.push({ name: spec.name, address: spec.host, port: spec.port, family: literal, mode: spec.mode });
      continue;
    }
    try {
      const { address, family } = await lookup(spec.host);
      resolved.push({ name: spec.name, address, port: spec.port, family: family === 6 ? 6 : 4, mode: spec.mode });
    } catch (error) {
      return new Error(`--target: cannot resolve '${spec.host}' (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  return resolved;
}
