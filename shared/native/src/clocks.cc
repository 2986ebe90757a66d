#include "clocks.h"

namespace rtprobe {

int64_t ClockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t MonoNowNs() { return ClockNs(CLOCK_MONOTONIC); }
int64_t RealNowNs() { return ClockNs(CLOCK_REALTIME); }

int64_t RealMinusMonoNs() {
  constexpr int kTries = 3;
  constexpr int64_t kNarrowNs = 1'000;  // a bracket this narrow is as good as it gets here
  int64_t offset = 0;
  int64_t narrowest = 0;
  for (int i = 0; i < kTries; i++) {
    const int64_t before = MonoNowNs();
    const int64_t real = RealNowNs();
    const int64_t width = MonoNowNs() - before;
    if (i == 0 || width < narrowest) {
      narrowest = width;
      offset = real - (before + width / 2);
    }
    if (narrowest <= kNarrowNs) break;
  }
  return offset;
}

}  // namespace rtprobe
