// The guest's own timer/scheduling latency, measured like cyclictest's measuring thread: one
// native thread sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) to a fixed grid of
// due times and records each wake-up's lateness (actual − due, ns) into log-linear bucket
// counts. JavaScript never sees a single sample: it drains the counts (a few times a second
// and at interval boundaries) and folds them into an HDR histogram.
#pragma once

#include <napi.h>

#include <array>
#include <cstddef>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rt_thread.h"

namespace rtprobe {

// Log-linear buckets, 3 significant digits like the HDR histograms they are folded into:
// values below 2048 ns have a bucket each, every power of two above has 1024 buckets.
// Values above ~68 s (2^36 ns) share the last bucket; the exact max is kept beside.
struct TimerBuckets {
  static constexpr int kSubBits = 10;
  static constexpr int kTopBit = 36;
  static constexpr size_t kCount = size_t(kTopBit - kSubBits + 1) << kSubBits;
  static size_t IndexOf(int64_t ns);
  static int64_t LowestOf(size_t index);
  static int64_t WidthOf(size_t index);
};

struct TimerOptions {
  int64_t intervalNs = 1'000'000;
  RtOptions rt;
};

// What one drain hands over: everything recorded since the previous drain.
struct TimerDrain {
  std::vector<std::pair<int64_t, uint64_t>> buckets;  // (bucket's middle value ns, count)
  uint64_t count = 0;
  int64_t maxNs = -1;          // -1 when nothing was recorded
  int64_t maxAtRealNs = 0;     // CLOCK_REALTIME of the wake-up that was the max
  uint64_t overruns = 0;       // due times skipped because a wake-up came a whole interval late
};

class TimerLatencyThread {
 public:
  explicit TimerLatencyThread(const TimerOptions& options);
  ~TimerLatencyThread();
  // Stops and joins the thread (at most one interval); safe to call twice.
  void Stop();
  TimerDrain Drain();
  const std::vector<std::string>& warnings() const { return warnings_; }
  // The SCHED_FIFO priority in force (0 = SCHED_OTHER: not permitted or not asked for).
  int fifoPriority() const { return fifoPriority_; }

 private:
  void Run();
  void Record(int64_t latencyNs, int64_t wokeMonoNs);

  TimerOptions options_;
  std::vector<std::string> warnings_;
  int fifoPriority_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // Two bucket arrays: the thread counts into `active_`, a drain swaps and reads the other.
  std::mutex lock_;
  std::array<std::vector<uint64_t>, 2> counts_;
  // The range of bucket indexes each array has counts in: a drain reads only that.
  std::array<size_t, 2> lowIndex_{SIZE_MAX, SIZE_MAX};
  std::array<size_t, 2> highIndex_{0, 0};
  int active_ = 0;
  uint64_t count_ = 0;
  int64_t maxNs_ = -1;
  int64_t maxAtMonoNs_ = 0;
  uint64_t overruns_ = 0;
};

// exports.TimerLatency: the JS class (shared/native/timer-latency-addon.ts describes it).
void RegisterTimerLatency(Napi::Env env, Napi::Object exports);

}  // namespace rtprobe
