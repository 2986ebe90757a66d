import type { DecoderTarget } from './fuzz-target.js';
import { histogramTarget } from './targets/histogram-target.js';
import { hlogFileTarget } from './targets/hlog-file-target.js';
import { hlogLineTarget } from './targets/hlog-line-target.js';
import { icmpRawTarget } from './targets/icmp-raw-target.js';
import { icmpReplyTarget } from './targets/icmp-reply-target.js';
import { agentMessageTarget, clientMessageTarget } from './targets/message-targets.js';
import { probeDecodeTarget } from './targets/probe-decode-target.js';
import { reflectRefuseTarget, reflectTarget } from './targets/reflect-target.js';

/** Every decoder the harness fuzzes, in table order. */
export const DECODER_TARGETS: readonly DecoderTarget<unknown>[] = [
  probeDecodeTarget, reflectTarget, reflectRefuseTarget, icmpReplyTarget, icmpRawTarget, clientMessageTarget, agentMessageTarget, histogramTarget,
  hlogLineTarget, hlogFileTarget,
];

export function decoderTarget(name: string): DecoderTarget<unknown> | undefined {
  return DECODER_TARGETS.find((t) => t.name === name);
}
