/**
 * Child process of the kill -9 test: appends 1 s intervals (simulated times) as fast as the
 * disk takes them and prints "acked N" after each append resolved, until killed.
 * Usage: node --import tsx hlog-crash-child.ts DIR
 */
import { HlogDailyWriter } from '../../../controller/hlog/hlog-daily-writer.js';
import { latencyHistogram, spreadValues } from './hlog-test-data.js';

const [dir] = process.argv.slice(2);
const T0 = Date.parse('2024-05-01T10:00:00Z');
const writer = await HlogDailyWriter.open({ dir: dir ?? '.', target: 'crash', resume: false, nowMs: T0 });
if (writer instanceof Error) throw writer;
for (let i = 0; ; i++) {
  const h = latencyHistogram(spreadValues(500, i + 1));
  const error = await writer.append({ tag: 'rtt', startMs: T0 + i * 1000, lengthMs: 1000, maxNs: h.maxNs, histogram: h.histogram });
  if (error) throw error;
  process.stdout.write(`acked ${i + 1}\n`);
}
