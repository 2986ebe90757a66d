// Range checks of numbers that come from JavaScript, done before any conversion: casting NaN,
// ±Infinity or a value at or past 2^63 to int64_t is undefined behaviour in C++.
#pragma once

#include <cmath>
#include <cstdint>

namespace rtprobe {

// Whether `d` is an integer in [min, max].
inline bool DoubleFitsInt64(double d, int64_t min, int64_t max) {
  if (!std::isfinite(d) || std::trunc(d) != d) return false;
  // -2^63 is exact in a double; 2^63 is the first value past int64_t.
  if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return false;
  const int64_t i = int64_t(d);
  return i >= min && i <= max;
}

}  // namespace rtprobe
