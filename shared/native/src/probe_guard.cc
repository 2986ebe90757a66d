#include "probe_guard.h"

#include <netinet/in.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace rtprobe {
namespace {

constexpr int64_t kSourceSweepEveryNs = 1'000'000'000;

}  // namespace

// The address without the port: the rate limit is per host, whatever port it sends from.
ProbeGuard::SourceKey ProbeGuard::KeyOf(const sockaddr_storage& from) {
  SourceKey key;
  if (from.ss_family == AF_INET) {
    key.lo = reinterpret_cast<const sockaddr_in*>(&from)->sin_addr.s_addr;
    return key;
  }
  const uint8_t* a = reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr.s6_addr;
  memcpy(&key.hi, a, 8);
  memcpy(&key.lo, a + 8, 8);
  return key;
}

bool ProbeGuard::SessionPlace::Seen(uint64_t seq) const {
  if (!any || seq > top) return false;
  if (top - seq >= kReplayWindow) return true;
  const uint64_t bit = seq % kReplayWindow;
  return (bits[bit / 64] >> (bit % 64) & 1) != 0;
}

void ProbeGuard::SessionPlace::Mark(uint64_t seq) {
  if (!any || seq > top) {
    if (!any || seq - top >= kReplayWindow) {
      bits.fill(0);
    } else {
      for (uint64_t s = top + 1; s < seq; ++s) {
        const uint64_t bit = s % kReplayWindow;
        bits[bit / 64] &= ~(uint64_t(1) << (bit % 64));
      }
    }
    top = seq;
    any = true;
  }
  const uint64_t bit = seq % kReplayWindow;
  bits[bit / 64] |= uint64_t(1) << (bit % 64);
}

GuardVerdict ProbeGuard::Admit(const sockaddr_storage& from, uint32_t session, uint64_t seq,
                               int64_t nowNs) {
  auto found = sessions_.find(session);
  const bool known = found != sessions_.end();
  if (known && limits_.replayWindow && found->second.Seen(seq)) return GuardVerdict::kReplay;
  if (!known && limits_.maxSessions != 0 && sessions_.size() >= limits_.maxSessions &&
      !ReclaimSession(nowNs)) {
    return GuardVerdict::kSessionLimit;
  }
  if (!TakeToken(from, nowNs)) return GuardVerdict::kRateLimited;
  SessionPlace& place = known ? found->second : sessions_[session];
  place.lastSeenNs = nowNs;
  if (limits_.replayWindow) place.Mark(seq);
  return GuardVerdict::kAnswer;
}

bool ProbeGuard::ReclaimSession(int64_t nowNs) {
  auto idlest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (idlest == sessions_.end() || it->second.lastSeenNs < idlest->second.lastSeenNs) idlest = it;
  }
  if (idlest == sessions_.end() || nowNs - idlest->second.lastSeenNs < kSessionReclaimNs) return false;
  sessions_.erase(idlest);
  return true;
}

double ProbeGuard::Burst() const {
  // agent/probe-guard.ts burstOf: a fifth of a second of the rate, at least 10 probes.
  return std::max(10.0, std::ceil(limits_.maxRatePerS / 5));
}

void ProbeGuard::Refill(Bucket& bucket, int64_t nowNs) const {
  const int64_t elapsedNs = std::max<int64_t>(0, nowNs - bucket.lastNs);
  bucket.tokens = std::min(Burst(), bucket.tokens + double(elapsedNs) * limits_.maxRatePerS / 1e9);
  bucket.lastNs = std::max(bucket.lastNs, nowNs);
}

bool ProbeGuard::TakeToken(const sockaddr_storage& from, int64_t nowNs) {
  if (limits_.maxRatePerS <= 0) return true;
  const SourceKey key = KeyOf(from);
  auto found = sources_.find(key);
  if (found == sources_.end()) {
    if (sources_.size() >= kMaxTrackedSources) {
      // Forget sources quiet long enough to be full again; at most once a second.
      if (nowNs - lastSweepNs_ < kSourceSweepEveryNs) return false;
      lastSweepNs_ = nowNs;
      for (auto it = sources_.begin(); it != sources_.end();) {
        Refill(it->second, nowNs);
        it = it->second.tokens >= Burst() ? sources_.erase(it) : std::next(it);
      }
      if (sources_.size() >= kMaxTrackedSources) return false;
    }
    found = sources_.emplace(key, Bucket{Burst(), nowNs}).first;
  }
  Bucket& bucket = found->second;
  Refill(bucket, nowNs);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

}  // namespace rtprobe
