/**
 * A probe never fragments (IP_MTU_DISCOVER / IPV6_MTU_DISCOVER = PMTUDISC_DO on every native
 * socket): two fragments on the wire are another measurement, and the kernel's default would
 * fragment a probe larger than the path MTU without a word. A guest behind a link of MTU 1280
 * (a veth pair this test makes, in a namespace it makes): probes that fit are answered, probes
 * that do not fail to send with EMSGSIZE, named with the fix, and count as lost.
 */
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, runCli, waitUntilListening, type RunningAgent } from '../helpers/cli.js';
import { createGuestNamespace, type GuestNamespace } from '../helpers/netns.js';
import { skipNote, whySkip } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const skipReason = whySkip([!isRoot, 'network namespaces and raw ICMP sockets need root']);
const MTU = 1280;
// 1472 B of UDP payload (or ICMP message) + 28 B of headers: 1500 B datagrams on a 1280 B link
const TOO_LARGE = '1472';
const FITS = '1200';

describe.skipIf(skipReason !== null)(`probes never fragment: a link of MTU ${MTU} (needs root)${skipNote(skipReason)}`, () => {
  let guest: GuestNamespace;
  let agent: RunningAgent | undefined;
  beforeAll(async () => {
    guest = createGuestNamespace('nofrag', 87);
    execFileSync('ip', ['link', 'set', guest.hostInterface, 'mtu', String(MTU)]);
    execFileSync('ip', ['-n', guest.name, 'link', 'set', guest.guestInterface, 'mtu', String(MTU)]);
    // `ip netns exec` execs node in the namespace: the child is the agent
    agent = await waitUntilListening(spawn('ip', ['netns', 'exec', guest.name, process.execPath, CLI_PATH, 'agent',
      '--listen', `${guest.guestAddress}:0`]), false);
  });
  afterAll(async () => {
    await agent?.stop();
    guest?.remove();
  });

  for (const mode of ['udp', 'icmp'] as const) {
    const target = (): string => (mode === 'udp' ? `${guest.guestAddress}:${agent?.port ?? 0}` : `icmp://${guest.guestAddress}`);

    it(`${mode}: --size ${FITS} fits and is answered; --size ${TOO_LARGE} fails to send with EMSGSIZE, says why, and counts as lost`, async () => {
      const fits = await runCli(['run', '--target', target(), '--size', FITS, '--count', '10', '--rate', '100', '--json', '-', '--quiet']);
      expect(fits.code, fits.stderr).toBe(0);
      expect(JSON.parse(fits.stdout).targets[0]).toMatchObject({ sent: 10, received: 10, lost: 0 });

      const tooLarge = await runCli(['run', '--target', target(), '--size', TOO_LARGE, '--count', '10', '--rate', '100',
        '--loss-after', '500ms', '--timeout', '200ms', '--json', '-', '--quiet']);
      // fragmented (the kernel's default), all 10 would come back
      expect(JSON.parse(tooLarge.stdout).targets[0]).toMatchObject({ sent: 10, received: 0, lost: 10 });
      expect(tooLarge.code).toBe(1); // a target that answered nothing
      expect(tooLarge.stderr).toMatch(/failed: EMSGSIZE \(Message too long\) \(larger than the path MTU: probes never fragment; a smaller --size fits\)/);
    });
  }
});
