// Real-time settings for the calling thread. None of them throws: each failure becomes a
// warning that says what is missing, and the thread runs on without it.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace rtprobe {

struct RtOptions {
  int rtPriority = 0;  // SCHED_FIFO priority 1..99; 0 = leave SCHED_OTHER
  int cpu = -1;        // pin to this CPU; -1 = no pinning
  // Lock the calling thread's stack and `lockRegions` in RAM. Not mlockall: V8 frees heap
  // pages with madvise(MADV_DONTNEED), which fails with EINVAL on locked pages, and V8 then
  // aborts ("Check failed: 0 == ret" in OS::SetPermissions) — seen here with Node 20.
  bool mlock = false;
  std::vector<std::pair<const void*, size_t>> lockRegions;
};

// Applies timer slack 1 ns, then cpu, rtPriority and mlock to the calling thread.
std::vector<std::string> ApplyRtOptions(const RtOptions& options);
// Undoes the mlock of ApplyRtOptions; call on the same thread before it ends.
void UnlockRtMemory(const RtOptions& options);

// "EPERM" etc.; falls back to the number when glibc does not know the name.
std::string ErrnoName(int err);

}  // namespace rtprobe
