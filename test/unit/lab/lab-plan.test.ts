import { describe, expect, it } from 'vitest';
import { LAB_EMU, LAB_PT } from '../../../controller/lab/lab-layout.js';
import { agentArgv, planDown, planTapGuestAfterModel, planTapGuestBeforeModel, planVethGuest } from '../../../controller/lab/lab-plan.js';
import { argvContains, parseLinkNames, parseNetnsNames } from '../../../controller/lab/lab-system.js';

describe('lab plan', () => {
  it('passthrough: a veth whose guest end is born in the namespace, addresses only on the pair', () => {
    expect(planVethGuest(LAB_PT).map((a) => a.join(' '))).toEqual([
      'netns add rtp-pt',
      'link add rtp-pt-h type veth peer name rtp-pt-g netns rtp-pt',
      'addr add 10.254.20.1/30 dev rtp-pt-h',
      'link set rtp-pt-h up',
      '-n rtp-pt addr add 10.254.20.2/30 dev rtp-pt-g',
      '-n rtp-pt link set rtp-pt-g up',
      '-n rtp-pt link set lo up',
    ]);
  });

  it('emulated: both TAPs made in the root namespace; the guest TAP moves in only after the model attached', () => {
    expect(planTapGuestBeforeModel(LAB_EMU).map((a) => a.join(' '))).toEqual([
      'netns add rtp-emu', 'tuntap add dev rtp-emu-h mode tap', 'tuntap add dev rtp-emu-g mode tap',
    ]);
    const after = planTapGuestAfterModel(LAB_EMU).map((a) => a.join(' '));
    expect(after[0]).toBe('link set rtp-emu-g netns rtp-emu');
    expect(after).toContain('addr add 10.254.21.1/30 dev rtp-emu-h');
    expect(after).toContain('-n rtp-emu addr add 10.254.21.2/30 dev rtp-emu-g');
  });

  it('down: links (also inside namespaces) before namespaces; nothing found, nothing done', () => {
    expect(planDown({ namespaces: [], rootLinks: [], nsLinks: [] })).toEqual([]);
    expect(planDown({
      namespaces: ['rtp-pt', 'rtp-emu'], rootLinks: ['rtp-emu-h'], nsLinks: [{ netns: 'rtp-emu', link: 'rtp-emu-g' }],
    }).map((a) => a.join(' '))).toEqual([
      '-n rtp-emu link del rtp-emu-g', 'link del rtp-emu-h', 'netns del rtp-pt', 'netns del rtp-emu',
    ]);
  });

  it('the agent listens on the guest address only, with the stream and the token', () => {
    expect(agentArgv(LAB_EMU, '/usr/bin/node', '/x/rtprobe.js', '/run/rtprobe-lab/token')).toEqual([
      'netns', 'exec', 'rtp-emu', '/usr/bin/node', '/x/rtprobe.js', 'agent', '--listen', '10.254.21.2:7707',
      '--ws', '10.254.21.2:7708', '--token-file', '/run/rtprobe-lab/token',
    ]);
  });
});

describe('ip output parsers', () => {
  it('netns list, with and without ids', () => {
    expect(parseNetnsNames('rtp-emu (id: 1)\nrtp-pt (id: 0)\nother\n\n')).toEqual(['rtp-emu', 'rtp-pt', 'other']);
  });
  it('link names without the @peer suffix', () => {
    const text = [
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT',
      '7: rtp-pt-h@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500',
      '8: rtp-emu-h: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500',
    ].join('\n');
    expect(parseLinkNames(text)).toEqual(['lo', 'rtp-pt-h', 'rtp-emu-h']);
  });
  it('argvContains finds the device model marker as consecutive arguments only', () => {
    const marker = ['lab', 'device-model', '--tap-a', 'rtp-emu-h'];
    expect(argvContains(['node', 'rtprobe.js', 'lab', 'device-model', '--tap-a', 'rtp-emu-h', '--tap-b', 'x'], marker)).toBe(true);
    expect(argvContains(['node', 'rtprobe.js', 'lab', 'device-model', '--tap-b', 'rtp-emu-h'], marker)).toBe(false);
    expect(argvContains(['vim', 'lab device-model --tap-a rtp-emu-h'], marker)).toBe(false);
  });
});
