// Real-time settings for the calling thread. None of them throws: each failure becomes a
// warning that says what is missing, and the thread runs on without it.
#pragma once

#include <string>
#include <vector>

namespace rtprobe {

struct RtOptions {
  int rtPriority = 0;  // SCHED_FIFO priority 1..99; 0 = leave SCHED_OTHER
  int cpu = -1;        // pin to this CPU; -1 = no pinning
  bool mlock = false;  // mlockall(MCL_CURRENT | MCL_FUTURE), process-wide
};

// Applies timer slack 1 ns, then cpu, rtPriority and mlock to the calling thread.
std::vector<std::string> ApplyRtOptions(const RtOptions& options);

// "EPERM" etc.; falls back to the number when glibc does not know the name.
std::string ErrnoName(int err);

}  // namespace rtprobe
