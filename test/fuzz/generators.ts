/**
 * The fuzz inputs, one generator per kind of input, each a pure function of a seeded Prng
 * (helpers/prng.ts: the run seed, the target and the input's index give the same bytes every time).
 * The generators live beside the layouts they know; this is the index:
 *
 *   randomBytes, mutate           mutate-bytes.ts   any length 0..1600; bit flips, 0x00/0xff/0x7f/0x80
 *                                                   bytes, truncation, extension, field-aware edits
 *   probeDatagram, validProbe,    probe-inputs.ts   probes and replies of every size 64..1472, their
 *   validReply                                      mutations at magic/version/type/flags/length/
 *                                                   reserved/seq/T1–T3, resized packets, random bytes
 *   icmpMessage, ipv4IcmpDatagram icmp-inputs.ts    echo replies/requests with right and wrong checksums,
 *                                                   identifiers, sequences and codes; raw IPv4 datagrams
 *   messageText                   message-inputs.ts stream messages of both sides: valid ones, wrong types,
 *                                 json-mutations.ts huge numbers, deep nesting, unknown types, non-JSON, unicode
 *   histogramPayload              histogram-inputs.ts  compressed V2 histograms mutated at every layer
 *   hlogLine, hlogText            hlog-inputs.ts    interval-log lines of every kind and their mutations
 */
export { Prng } from '../helpers/prng.js';
export { mutate, randomBytes } from './mutate-bytes.js';
export { probeDatagram, validProbe, validReply } from './probe-inputs.js';
export { icmpMessage, ipv4IcmpDatagram } from './icmp-inputs.js';
export { messageText } from './message-inputs.js';
export { histogramPayload } from './histogram-inputs.js';
export { hlogLine, hlogText } from './hlog-inputs.js';
