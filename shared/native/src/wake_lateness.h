// How late the send thread's wake-ups for its slots come: each one's lateness (when it got to
// the send, reads done, minus when it asked to wake), the last kWindow of them, and their 90th
// percentile. The adaptive spin (--spin auto) spins that long plus a margin before a deadline:
// long enough that nine slots in ten go on time, and no longer, so that a machine whose timers
// wake promptly (an RT kernel on bare metal: a few µs) does not burn a fixed 100 µs a probe
// beside the guest it measures. Fixed memory, no allocation: it runs on the SCHED_FIFO thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace rtprobe {

class WakeLateness {
 public:
  static constexpr size_t kWindow = 64;
  // The percentile is taken anew every kEvery samples (a partial sort of 64 values), not per slot.
  static constexpr size_t kEvery = 16;

  void Reset() {
    count_ = 0;
    next_ = 0;
    p90Ns_ = -1;
  }

  // Returns true when the 90th percentile was taken anew.
  bool Add(int64_t lateNs) {
    samples_[next_] = std::max<int64_t>(0, lateNs);
    next_ = (next_ + 1) % kWindow;
    if (count_ < kWindow) ++count_;
    if (count_ < kEvery || next_ % kEvery != 0) return false;
    std::array<int64_t, kWindow> sorted;
    std::copy_n(samples_.begin(), count_, sorted.begin());
    const size_t at = (count_ * 9) / 10;  // of 64: the 58th smallest, 6 above it
    std::nth_element(sorted.begin(), sorted.begin() + at, sorted.begin() + count_);
    p90Ns_ = sorted[at];
    return true;
  }

  // -1 until kEvery samples came in.
  int64_t P90Ns() const { return p90Ns_; }

 private:
  std::array<int64_t, kWindow> samples_{};
  size_t count_ = 0;
  size_t next_ = 0;
  int64_t p90Ns_ = -1;
};

}  // namespace rtprobe
