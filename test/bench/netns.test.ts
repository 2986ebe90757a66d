/**
 * The bench's namespaces (netns.ts) on this machine: the guard route for their /30 is in the
 * root namespace while they exist, and both are gone after removeVethPair. Root only.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { skipNote, whySkip } from '../helpers/skip.js';
import { findExecutable } from './find-exe.js';
import { createVethPair, removeVethPair } from './netns.js';

const skipReason = whySkip([process.getuid?.() !== 0, 'needs root'], [!findExecutable('ip'), "needs the 'ip' command"],
  [!findExecutable('ping'), "needs 'ping' (iputils-ping; .ci/run installs it)"]);

const routes = (subnet: string): string => execFileSync('ip', ['route', 'show', subnet], { encoding: 'utf8' }).trim();
const namespaces = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '');

describe.skipIf(skipReason !== null)(`bench namespaces${skipNote(skipReason)}`, () => {
  it('an unreachable route guards the /30 in the root namespace while the namespaces exist, and goes with them', () => {
    const pair = createVethPair();
    try {
      expect(routes(pair.subnet)).toBe(`unreachable ${pair.subnet} metric 4243`);
      expect(namespaces()).toEqual(expect.arrayContaining([pair.ctl, pair.guest]));
      // the guest answers from inside its namespace only
      execFileSync('ip', ['netns', 'exec', pair.ctl, 'ping', '-c', '1', '-W', '2', pair.guestAddr], { stdio: 'ignore' });
    } finally {
      removeVethPair(pair);
    }
    expect(routes(pair.subnet)).toBe('');
    expect(namespaces()).not.toContain(pair.ctl);
    expect(namespaces()).not.toContain(pair.guest);
  });
});
