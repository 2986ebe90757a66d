// The two clocks every native part reads: CLOCK_MONOTONIC (schedules, intervals, durations)
// and CLOCK_REALTIME (kernel stamps, wall-clock labels), and the offset between them.
#pragma once

#include <time.h>

#include <cstdint>

namespace rtprobe {

int64_t ClockNs(clockid_t clock);
int64_t MonoNowNs();
int64_t RealNowNs();
// CLOCK_REALTIME − CLOCK_MONOTONIC now: the wall clock read between two monotonic reads and
// set against their midpoint, from the narrowest of up to three tries (a preemption between
// two plain reads would land whole in the offset: 3.5 µs seen on this VM).
int64_t RealMinusMonoNs();

}  // namespace rtprobe
