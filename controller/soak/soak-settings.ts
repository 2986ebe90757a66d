import { formatNs, formatPercent } from '../../shared/report/format-ns.js';
import type { RunConfig } from '../engine/run-config.js';
import type { SoakOptions } from '../soak-command.js';

/** The soak's settings as the dashboard lists them (label, value): what was asked for, in words. */
export function soakSettings(argv: readonly string[], config: RunConfig, soak: SoakOptions): [string, string][] {
  const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
  return [
    ['command', ['rtprobe', 'soak', ...argv].map(quote).join(' ')],
    ['targets', String(config.targets.length)],
    ['rate', `${config.rateHz} Hz per target, ${config.sizeBytes} B probes`],
    ['interval', `${soak.intervalMs / 1000} s`],
    ['--alert-max', soak.thresholds.maxRttNs === null ? 'off' : formatNs(soak.thresholds.maxRttNs)],
    ['--alert-loss', soak.thresholds.lossRatio === null ? 'off' : formatPercent(soak.thresholds.lossRatio)],
    ['timestamps', config.timestamps],
    ['late / lost after', `${formatNs(config.timeoutNs)} / ${formatNs(config.lossAfterNs)}`],
    ['socket options', config.socket.given.length === 0 ? 'none' : config.socket.given.join(' ')],
    ['agent streams', String(config.agentWs.size)],
  ];
}
