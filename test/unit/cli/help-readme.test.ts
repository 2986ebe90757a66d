import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUN_HELP } from '../../../controller/run-command.js';
import { SOAK_HELP } from '../../../controller/soak-command.js';
import { REPORT_HELP } from '../../../controller/report-command.js';
import { AGENT_HELP } from '../../../agent/agent-command.js';
import { AGENT_FLAG_SPEC } from '../../../agent/agent-config.js';
import { RUN_FLAG_SPEC } from '../../../controller/engine/run-config.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const flagsIn = (text: string): string[] => [...new Set(text.match(/(?<![\w-])--[a-z][a-z0-9-]+/g) ?? [])];

describe('README and --help agree', () => {
  it.each([['run', RUN_HELP], ['soak', SOAK_HELP], ['report', REPORT_HELP], ['agent', AGENT_HELP]])('every flag of %s --help is in the README', (_name, help) => {
    expect(flagsIn(help).filter((flag) => !new RegExp(`(?<![\\w-])${flag}(?![\\w-])`).test(README))).toEqual([]);
  });

  it('every flag run and agent accept is in their --help (the agent\'s deprecated --interval aside)', () => {
    expect(Object.keys(RUN_FLAG_SPEC).map((k) => `--${k}`).filter((f) => !flagsIn(RUN_HELP).includes(f))).toEqual([]);
    expect(Object.keys(AGENT_FLAG_SPEC).map((k) => `--${k}`).filter((f) => !flagsIn(AGENT_HELP).includes(f))).toEqual([]);
  });

  it('soak --help does not offer the flags soak refuses', () => {
    expect(SOAK_HELP).not.toMatch(/^ {2}--duration /m);
    expect(SOAK_HELP).not.toMatch(/^ {2}--count /m);
    expect(SOAK_HELP).toMatch(/^ {2}--rate HZ/m);
    expect(SOAK_HELP).toMatch(/^ {2}--max-rtt TIME/m);
  });

  it('--spin is in the README\'s run table', () => {
    expect(README).toMatch(/^\| `--spin auto\\\|US` \| `0`; `auto` with `--cpu` \|/m);
  });
});
