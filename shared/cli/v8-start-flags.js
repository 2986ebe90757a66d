// V8 settings rtprobe needs before anything else runs (plain JavaScript: the launcher imports it
// before it loads a single module of its own, and main.ts again for the bundle and the SEA).
//
// No memory reducer for a small heap. Loading the command grows V8's old generation by more
// than 1 MB before its first full collection, and that arms the reducer: once the allocation
// rate is low, which for a 100 Hz probe loop is always, it runs two or three full collections
// of its own, 30-105 s into a run (--trace-gc: "Mark-Compact (reduce)"), 20-40 ms of CPU across
// threads. In the guest that is the agent disturbing what it measures a minute in (ten times as
// long on a TCG guest); in the controller it was most of the V8 row of `npm run bench`. The
// heap it would give back is ~1 MB. Read by V8 when the old generation grows, so setting it here
// works; `--no-memory-reducer` does not (the reducer is made with the heap). Collections the
// heap's own growth calls for, and any reducer they start, are unchanged.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-memory-reducer-for-small-heaps');
