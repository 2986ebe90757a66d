/** The loader and the option checks of the native addon wrapper (no sockets opened). */
import { afterEach, describe, expect, it } from 'vitest';
import { loadNativeAddon, pickDefined, validateCommonOptions } from '../../../shared/native/native-addon.js';

describe('loadNativeAddon', () => {
  const saved = process.env.RTPROBE_NO_ADDON;
  afterEach(() => {
    if (saved === undefined) delete process.env.RTPROBE_NO_ADDON;
    else process.env.RTPROBE_NO_ADDON = saved;
  });

  it('RTPROBE_NO_ADDON=1 disables it with a reason', () => {
    process.env.RTPROBE_NO_ADDON = '1';
    expect(loadNativeAddon()).toEqual({ ok: false, reason: 'disabled by RTPROBE_NO_ADDON=1' });
  });

  it('never throws: it loads, or says why not', () => {
    delete process.env.RTPROBE_NO_ADDON;
    const result = loadNativeAddon();
    if (result.ok) expect(typeof result.addon.ProbeSocket).toBe('function');
    else expect(result.reason).toMatch(/rtprobe_native\.node/);
  });
});

describe('validateCommonOptions', () => {
  it('accepts the documented ranges', () => {
    expect(() =>
      validateCommonOptions({ dscp: 63, priority: 6, busyPollUs: 50, rtPriority: 99, cpu: 0, interface: 'eth0' }),
    ).not.toThrow();
    expect(() => validateCommonOptions({ timestamps: 'hardware', interface: 'eth0' })).not.toThrow();
  });

  it.each([
    [{ dscp: 64 }, /dscp must be an integer 0\.\.63, got 64/],
    [{ dscp: -1 }, /dscp must be an integer 0\.\.63/],
    [{ dscp: 1.5 }, /dscp must be an integer/],
    [{ rtPriority: 0 }, /rtPriority must be an integer 1\.\.99/],
    [{ rtPriority: 100 }, /rtPriority must be an integer 1\.\.99/],
    [{ busyPollUs: -5 }, /busyPollUs must be an integer/],
    [{ cpu: -1 }, /cpu must be an integer/],
    [{ interface: 'a-very-long-interface-name' }, /interface must be a name of 1\.\.15 characters/],
    [{ timestamps: 'hardware' as const }, /hardware' needs an interface/],
  ])('rejects %o', (options, message) => {
    expect(() => validateCommonOptions(options)).toThrow(message);
  });
});

describe('pickDefined', () => {
  it('passes only the options that are set', () => {
    expect(pickDefined({ dscp: 0, mlock: false, cpu: undefined })).toEqual({ dscp: 0, mlock: false });
  });
});

describe('the addon checks numbers before converting them (NaN, ±Infinity, 2^63 are range errors)', () => {
  const loaded = loadNativeAddon();
  const skipReason = loaded.ok ? null : loaded.reason;
  const addon = loaded.ok ? (loaded.addon as unknown as {
    ProbeSocket: new (options: object, onEvents: () => void) => { close(): Promise<void> };
    DeviceModel?: new (options: object) => unknown;
  }) : null;

  it.skipIf(skipReason !== null).each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 63, -(2 ** 64), 1e300])(
    `ProbeSocket port %s${skipReason === null ? '' : ` — skipped: ${skipReason}`}`, (bad) => {
      expect(() => new addon!.ProbeSocket({ mode: 'controller', family: 4, bindAddress: '127.0.0.1', port: bad }, () => {}))
        .toThrow(/port must be an integer 0\.\.65535/);
    });

  it.skipIf(skipReason !== null)(`ProbeSocket maxSessions 2^63 and DeviceModel delayNs NaN${skipReason === null ? '' : ` — skipped: ${skipReason}`}`, () => {
    expect(() => new addon!.ProbeSocket({ mode: 'reflector', family: 4, bindAddress: '127.0.0.1', port: 0, maxSessions: 2 ** 63 }, () => {}))
      .toThrow(/maxSessions must be an integer/);
    // the knobs are read before any TAP is opened: no root needed to see the range error
    expect(() => new addon!.DeviceModel!({ tapA: 'a', tapB: 'b', delayNs: Number.NaN })).toThrow(/delayNs must be an integer/);
    expect(() => new addon!.DeviceModel!({ tapA: 'a', tapB: 'b', stallNs: 2 ** 63 })).toThrow(/stallNs must be an integer/);
  });
});
