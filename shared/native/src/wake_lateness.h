// How late the send thread's wake-ups for its slots come: each one's lateness (when it got to
// the send, reads done, minus when it asked to wake), the last kWindow of them, and their
// median and 90th percentile. The adaptive spin (--spin auto) spins the median before a
// deadline: half the slots then wake in time and leave on it, the rest leave late by what
// their wake-up came later than the median. Spinning to the 90th percentile would put nine in
// ten on time but, on a VM whose wake-ups come 50-250 µs late, cost about twice the CPU a
// probe (measured beside fping in the same minutes); a host whose timers wake in a few µs (an
// RT kernel on bare metal) spins a few µs either way, not a fixed 100 µs a probe beside the
// guest it measures. Fixed memory, no allocation: it runs on the SCHED_FIFO thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace rtprobe {

class WakeLateness {
 public:
  static constexpr size_t kWindow = 64;
  // The percentiles are taken anew every kEvery samples (two partial sorts of 64 values), not per slot.
  static constexpr size_t kEvery = 16;

  void Reset() {
    count_ = 0;
    next_ = 0;
    p50Ns_ = -1;
    p90Ns_ = -1;
  }

  // Returns true when the percentiles were taken anew.
  bool Add(int64_t lateNs) {
    samples_[next_] = std::max<int64_t>(0, lateNs);
    next_ = (next_ + 1) % kWindow;
    if (count_ < kWindow) ++count_;
    if (count_ < kEvery || next_ % kEvery != 0) return false;
    std::array<int64_t, kWindow> sorted;
    std::copy_n(samples_.begin(), count_, sorted.begin());
    const size_t median = count_ / 2;        // of 64: the 33rd smallest
    const size_t p90 = (count_ * 9) / 10;    // of 64: the 58th smallest, 6 above it
    std::nth_element(sorted.begin(), sorted.begin() + median, sorted.begin() + count_);
    p50Ns_ = sorted[median];
    // Everything above the median is now to its right: the 90th percentile is among those.
    std::nth_element(sorted.begin() + median, sorted.begin() + p90, sorted.begin() + count_);
    p90Ns_ = sorted[p90];
    return true;
  }

  // -1 until kEvery samples came in.
  int64_t P50Ns() const { return p50Ns_; }
  int64_t P90Ns() const { return p90Ns_; }

 private:
  std::array<int64_t, kWindow> samples_{};
  size_t count_ = 0;
  size_t next_ = 0;
  int64_t p50Ns_ = -1;
  int64_t p90Ns_ = -1;
};

}  // namespace rtprobe
