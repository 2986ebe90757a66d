import { describe, expect, it } from 'vitest';
import { parseReportTime } from '../../../controller/hlog/report-time.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

describe('parseReportTime', () => {
  it.each([
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01T10:30', '2024-05-01T10:30:00.000Z'],
    ['2024-05-01 10:30:15', '2024-05-01T10:30:15.000Z'],
    ['2024-05-01T10:30:15.250Z', '2024-05-01T10:30:15.250Z'],
    ['2024-05-01T12:30+02:00', '2024-05-01T10:30:00.000Z'],
    ['2024-05-01T12:30+0200', '2024-05-01T10:30:00.000Z'],
    ['1714557600', '2024-05-01T10:00:00.000Z'],
    ['now', '2024-05-01T12:00:00.000Z'],
    ['-1h', '2024-05-01T11:00:00.000Z'],
    ['-30m', '2024-05-01T11:30:00.000Z'],
    ['-2d', '2024-04-29T12:00:00.000Z'],
  ])('%s is %s (no zone = UTC)', (text, iso) => {
    const ms = parseReportTime('--from', text, NOW);
    expect(ms instanceof Error ? ms.message : new Date(ms).toISOString()).toBe(iso);
  });

  it.each(['yesterday', '2024-13-45', '-1x', '1h', '2024-05-01T25:00'])('refuses %j, naming the flag', (text) => {
    const result = parseReportTime('--to', text, NOW);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/^--to: .* is not a time/);
  });
});
