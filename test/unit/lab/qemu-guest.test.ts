import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCpioNewc } from '../../../controller/lab/qemu/cpio-newc.js';
import { isStaticElf, parseLdd } from '../../../controller/lab/qemu/guest-image.js';
import { guestAgentTimerFlags, guestInitScript } from '../../../controller/lab/qemu/guest-init.js';
import { driverModules, guestNic, parseNics } from '../../../controller/lab/qemu/guest-nics.js';
import { modulesInLoadOrder, moduleName, parseModulesDep } from '../../../controller/lab/qemu/module-deps.js';
import { parseGuestMemory, qemuArgv } from '../../../controller/lab/qemu/qemu-argv.js';
import { parseQemuFlags } from '../../../controller/lab/qemu/qemu-flags.js';
import { resolveAccel } from '../../../controller/lab/qemu/qemu-lab.js';
import { parseQemuLabState } from '../../../controller/lab/qemu/qemu-lab-state.js';

const hasCpio = spawnSync('cpio', ['--version']).status === 0;

describe('writeCpioNewc', () => {
  it('writes the newc layout: 110-byte headers, names and data padded to 4, the trailer', () => {
    const archive = writeCpioNewc([{ kind: 'file', path: '/init', data: Buffer.from('abc'), mode: 0o755 }]);
    expect(archive).toBeInstanceOf(Buffer);
    const bytes = archive as Buffer;
    expect(bytes.subarray(0, 6).toString()).toBe('070701');
    expect(bytes.subarray(14, 22).toString()).toBe((0o100755).toString(16).padStart(8, '0')); // mode
    expect(bytes.subarray(54, 62).toString()).toBe('00000003'); // file size
    expect(bytes.subarray(94, 102).toString()).toBe('00000005'); // name size "init\0"
    // header 110 + name 5 = 115, padded to 116; data 3 padded to 4
    expect(bytes.subarray(116, 119).toString()).toBe('abc');
    expect(bytes.subarray(120, 126).toString()).toBe('070701');
    expect(bytes.subarray(120 + 110, 120 + 120).toString()).toBe('TRAILER!!!');
    expect(bytes.length % 4).toBe(0);
  });

  it('refuses a path that would leave the archive root', () => {
    expect(writeCpioNewc([{ kind: 'dir', path: 'a/../../etc' }])).toBeInstanceOf(Error);
    expect(writeCpioNewc([{ kind: 'dir', path: '/' }])).toBeInstanceOf(Error);
  });

  it.skipIf(!hasCpio)(`GNU cpio extracts what it wrote: directories, modes, file bytes, symlinks${hasCpio ? '' : ' — skipped: no cpio'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtprobe-cpio-'));
    try {
      const big = Buffer.from(Array.from({ length: 70_001 }, (_, i) => i % 251));
      const archive = writeCpioNewc([
        { kind: 'dir', path: 'bin' }, { kind: 'file', path: 'bin/tool', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
        { kind: 'dir', path: 'usr' }, { kind: 'dir', path: 'usr/lib' }, { kind: 'file', path: 'usr/lib/blob', data: big },
        { kind: 'symlink', path: 'usr/tool', target: '/bin/tool' },
      ]) as Buffer;
      const result = spawnSync('cpio', ['-idm', '--quiet'], { cwd: dir, input: archive });
      expect(result.status, String(result.stderr)).toBe(0);
      expect(readFileSync(join(dir, 'bin/tool'), 'utf8')).toBe('#!/bin/sh\n');
      expect(statSync(join(dir, 'bin/tool')).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(dir, 'usr/lib/blob')).equals(big)).toBe(true);
      expect(readlinkSync(join(dir, 'usr/tool'))).toBe('/bin/tool');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kernel modules for the guest NICs', () => {
  const DEP = [
    'kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    'kernel/drivers/virtio/virtio_pci_legacy_dev.ko:', 'kernel/drivers/virtio/virtio_pci_modern_dev.ko:',
    'kernel/drivers/virtio/virtio.ko:', 'kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko',
    'kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    'kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko', 'kernel/net/core/failover.ko:',
    'kernel/drivers/net/ethernet/intel/e1000/e1000.ko:',
    'kernel/drivers/net/ethernet/realtek/8139too.ko: kernel/drivers/net/mii.ko', 'kernel/drivers/net/mii.ko:',
  ].join('\n');

  it('names modules as insmod does, with compression suffixes and dashes', () => {
    expect(moduleName('kernel/x/virtio_net.ko.xz')).toBe('virtio_net');
    expect(moduleName('kernel/x/snd-hda.ko')).toBe('snd_hda');
  });

  it('loads every dependency once, before what needs it', () => {
    const order = modulesInLoadOrder(parseModulesDep(DEP), driverModules([guestNic('e1000'), guestNic('virtio'), guestNic('rtl8139')]));
    expect(order).not.toBeInstanceOf(Error);
    const names = (order as string[]).map(moduleName);
    expect(new Set(names).size).toBe(names.length);
    const before = (a: string, b: string): boolean => names.indexOf(a) < names.indexOf(b);
    expect(before('virtio', 'virtio_ring')).toBe(true);
    expect(before('virtio_ring', 'virtio_pci')).toBe(true);
    expect(before('failover', 'net_failover')).toBe(true);
    expect(before('net_failover', 'virtio_net')).toBe(true);
    expect(before('mii', '8139too')).toBe(true);
    expect(names).toContain('e1000');
  });

  it('a module missing from modules.dep is an error naming it and who needs it', () => {
    const error = modulesInLoadOrder(parseModulesDep('kernel/a.ko: kernel/b.ko'), ['a']);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('kernel module b not in modules.dep (needed by a)');
  });
});

describe('NICs, flags and QEMU argv', () => {
  it('each NIC model has its own TAP, /30, MAC and driver', () => {
    const nics = (['e1000', 'virtio', 'rtl8139'] as const).map(guestNic);
    expect(nics.map((n) => [n.tap, n.hostAddress, n.guestAddress, n.mac, n.driver])).toEqual([
      ['rtp-q-e1000', '10.254.22.1', '10.254.22.2', '52:54:00:72:74:01', 'e1000'],
      ['rtp-q-virtio', '10.254.22.5', '10.254.22.6', '52:54:00:72:74:02', 'virtio_net'],
      ['rtp-q-rtl8139', '10.254.22.9', '10.254.22.10', '52:54:00:72:74:03', '8139too'],
    ]);
    for (const nic of nics) expect(nic.tap.length).toBeLessThanOrEqual(15); // IFNAMSIZ
  });

  it('parses --nics, --guest-mem and the rest with defaults', () => {
    expect(parseNics('virtio, rtl8139')).toEqual(['virtio', 'rtl8139']);
    expect(parseNics('')).toBeInstanceOf(Error);
    expect(parseGuestMemory('1G')).toBe('1024M');
    expect(parseGuestMemory('512')).toBe('512M');
    expect(parseGuestMemory('1.5G')).toBeInstanceOf(Error);
    expect(parseQemuFlags({})).toEqual({ nics: ['e1000', 'virtio'], accel: 'auto', cpus: 1, memory: '1024M', bootTimeoutMs: 120_000 });
    expect(parseQemuFlags({ 'boot-timeout': '500ms' })).toBeInstanceOf(Error);
  });

  it('--accel auto takes KVM only where /dev/kvm opens; --accel kvm without it is an error', () => {
    expect(resolveAccel('auto', true)).toBe('kvm');
    expect(resolveAccel('auto', false)).toBe('tcg');
    expect(resolveAccel('tcg', true)).toBe('tcg');
    expect(resolveAccel('kvm', false)).toBeInstanceOf(Error);
  });

  it('QEMU argv: the accelerator, one tap netdev and device per NIC, vhost only on virtio, serial to a file, the monitor on a socket', () => {
    const argv = qemuArgv({
      accel: 'tcg', cpus: 2, memory: '1024M', kernel: '/boot/vmlinuz', initrd: '/cache/initrd.gz',
      nics: [guestNic('e1000'), guestNic('virtio')], vhost: true, token: 'tok', serialLog: '/run/s.log',
      monitorSocket: '/run/m.sock', pidFile: '/run/q.pid',
    });
    const after = (flag: string): string[] => argv.flatMap((a, i) => (a === flag ? [argv[i + 1] ?? ''] : []));
    expect(after('-accel')).toEqual(['tcg']);
    expect(argv).not.toContain('-cpu');
    expect(after('-smp')).toEqual(['2']);
    expect(after('-netdev')).toEqual([
      'tap,id=net0,ifname=rtp-q-e1000,script=no,downscript=no',
      'tap,id=net1,ifname=rtp-q-virtio,script=no,downscript=no,vhost=on',
    ]);
    expect(after('-device')).toEqual(['e1000,netdev=net0,mac=52:54:00:72:74:01', 'virtio-net-pci,netdev=net1,mac=52:54:00:72:74:02']);
    expect(after('-serial')).toEqual(['file:/run/s.log']);
    expect(after('-monitor')).toEqual(['unix:/run/m.sock,server=on,wait=off']);
    expect(after('-append')[0]).toContain('rtprobe.token=tok');
  });
});

describe('guest /init', () => {
  it('loads the modules in order, addresses each NIC by MAC, takes the token from the command line, restarts the agent', () => {
    const script = guestInitScript({ modules: ['kernel/a.ko', 'kernel/b.ko'], kernelVersion: '6.1.0-x', nics: [guestNic('virtio')],
      agentFlags: guestAgentTimerFlags('kvm') });
    expect(script.startsWith('#!/bin/busybox sh\n')).toBe(true);
    expect(script.indexOf("insmod '/lib/modules/6.1.0-x/kernel/a.ko'")).toBeLessThan(script.indexOf("insmod '/lib/modules/6.1.0-x/kernel/b.ko'"));
    expect(script).toContain('= "52:54:00:72:74:02" ]; then');
    expect(script).toContain('ip addr add 10.254.22.6/30 dev');
    expect(script).toContain('rtprobe.token=*)');
    expect(script).toContain("'/opt/rtprobe/rtprobe' 'agent' '--listen' '0.0.0.0:7707' '--ws' '0.0.0.0:7708' '--token-file' '/run/rtprobe/token' '--timer-latency' '--timer-interval' '1ms'");
    expect(script).toMatch(/while true; do[\s\S]*restarting/);
  });

  it('the guest agent measures its timer: every 1 ms under KVM, every 10 ms under TCG (emulated wake-ups are dear)', () => {
    expect(guestAgentTimerFlags('kvm')).toEqual(['--timer-latency', '--timer-interval', '1ms']);
    expect(guestAgentTimerFlags('tcg')).toEqual(['--timer-latency', '--timer-interval', '10ms']);
  });

  it('busybox runs the script: it parses (sh -n)', () => {
    const script = guestInitScript({ modules: ['kernel/a.ko'], kernelVersion: 'v', nics: [guestNic('e1000'), guestNic('virtio')] });
    const result = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
  });
});

describe('host parts', () => {
  it('parseLdd: libraries and the loader, not the vdso', () => {
    const text = '\tlinux-vdso.so.1 (0x00007f)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n';
    expect(parseLdd(text)).toEqual(['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  });

  it('isStaticElf: node (dynamic) is not, a truncated file is not', () => {
    expect(isStaticElf(readFileSync(process.execPath).subarray(0, 4096))).toBe(false);
    expect(isStaticElf(Buffer.from('not an elf'))).toBe(false);
  });

  it('the state file parser refuses damage with a reason', () => {
    expect(parseQemuLabState('{')).toBeInstanceOf(Error);
    expect((parseQemuLabState('{"version":1}') as Error).message).toContain('missing');
  });
});
