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

ProbeGuard::ProbeGuard(const GuardLimits& limits)
    : limits_(limits), share_(limits.maxSessions == 0 ? 0
           : limits.maxSessionsPerSource != 0 ? limits.maxSessionsPerSource
                                              : SharePerAddress(limits.maxSessions)) {}

uint32_t ProbeGuard::SharePerAddress(uint32_t maxSessions) {
  return std::max<uint32_t>(1, maxSessions / 4);
}

uint16_t ProbeGuard::PortOf(const sockaddr_storage& from) {
  return from.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(&from)->sin_port
                                   : reinterpret_cast<const sockaddr_in6*>(&from)->sin6_port;
}

GuardDecision ProbeGuard::Admit(const sockaddr_storage& from, uint64_t local, uint32_t session,
                                uint64_t seq, int64_t nowNs) {
  const SourceKey address = KeyOf(from);
  const GuardDecision rateLimited{GuardVerdict::kRateLimited, uint64_t(limits_.maxRatePerS), 0};
  auto found = sessions_.find(session);
  if (found != sessions_.end()) {
    if (limits_.replayWindow && found->second.Seen(seq)) return {GuardVerdict::kReplay, 0, 0};
    if (!TakeToken(address, nowNs)) return rateLimited;
    found->second.lastSeenNs = nowNs;
    if (limits_.replayWindow) found->second.Mark(seq);
    return {};
  }
  const uint16_t port = PortOf(from);
  GuardDecision refusal;
  auto freed = PlaceFor(address, port, local, nowNs, &refusal);
  if (refusal.verdict != GuardVerdict::kAnswer) return refusal;
  if (!TakeToken(address, nowNs)) return rateLimited;
  SessionPlace* place = nullptr;
  if (freed != sessions_.end()) {
    // The new session takes over the node of the one it replaces: no allocation.
    auto node = sessions_.extract(freed);
    node.key() = session;
    node.mapped() = SessionPlace{};
    place = &sessions_.insert(std::move(node)).position->second;
  } else {
    place = &sessions_[session];
  }
  place->address = address;
  place->port = port;
  place->local = local;
  place->lastSeenNs = nowNs;
  if (limits_.replayWindow) place->Mark(seq);
  return {};
}

ProbeGuard::Sessions::iterator ProbeGuard::PlaceFor(const SourceKey& address, uint16_t port,
                                                    uint64_t local, int64_t nowNs,
                                                    GuardDecision* refusal) {
  auto held = sessions_.end(), idlestOfAddress = sessions_.end(), idlest = sessions_.end();
  uint32_t ofAddress = 0;
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    const SessionPlace& place = it->second;
    if (place.address == address) {
      ++ofAddress;
      if (place.port == port && place.local == local) held = it;
      if (idlestOfAddress == sessions_.end() || place.lastSeenNs < idlestOfAddress->second.lastSeenNs) {
        idlestOfAddress = it;
      }
    }
    if (idlest == sessions_.end() || place.lastSeenNs < idlest->second.lastSeenNs) idlest = it;
  }
  if (held != sessions_.end()) return held;
  auto silent = [&](Sessions::iterator it) {
    return it != sessions_.end() && nowNs - it->second.lastSeenNs >= kSessionReclaimNs;
  };
  const bool agentFull = limits_.maxSessions != 0 && sessions_.size() >= limits_.maxSessions;
  if (share_ != 0 && ofAddress >= share_) {
    if (silent(idlestOfAddress)) return idlestOfAddress;
    // A full agent is the reason to tell: raising --max-sessions helps either way.
    *refusal = agentFull ? GuardDecision{GuardVerdict::kSessionLimit, limits_.maxSessions, 0}
                         : GuardDecision{GuardVerdict::kSessionLimit, share_, 1};
    return sessions_.end();
  }
  if (agentFull) {
    if (silent(idlest)) return idlest;
    *refusal = {GuardVerdict::kSessionLimit, limits_.maxSessions, 0};
    return sessions_.end();
  }
  return sessions_.end();
}

bool ProbeGuard::End(const sockaddr_storage& from, uint64_t local, uint32_t session) {
  auto found = sessions_.find(session);
  if (found == sessions_.end() || !(found->second.address == KeyOf(from)) ||
      found->second.port != PortOf(from) || found->second.local != local) {
    return false;
  }
  sessions_.erase(found);
  return true;
}

bool ProbeGuard::RefusalAllowed(const sockaddr_storage& from, bool rateLimited, int64_t nowNs) {
  SourceState* source = SourceOf(KeyOf(from), nowNs);
  if (source == nullptr) return false;
  if (rateLimited && nowNs - source->lastRateLimitedRefusalNs < kRateLimitedRefusalEveryNs) return false;
  Refill(source->refusals, kRefusalsPerS, kRefusalBurst, nowNs);
  if (source->refusals.tokens < 1) return false;
  source->refusals.tokens -= 1;
  if (rateLimited) source->lastRateLimitedRefusalNs = nowNs;
  return true;
}

double ProbeGuard::Burst() const {
  // agent/probe-guard.ts burstOf: a fifth of a second of the rate, at least 10 probes.
  return std::max(10.0, std::ceil(limits_.maxRatePerS / 5));
}

void ProbeGuard::Refill(Bucket& bucket, double ratePerS, double burst, int64_t nowNs) {
  const int64_t elapsedNs = std::max<int64_t>(0, nowNs - bucket.lastNs);
  bucket.tokens = std::min(burst, bucket.tokens + double(elapsedNs) * ratePerS / 1e9);
  bucket.lastNs = std::max(bucket.lastNs, nowNs);
}

bool ProbeGuard::Quiet(SourceState& source, int64_t nowNs) const {
  Refill(source.refusals, kRefusalsPerS, kRefusalBurst, nowNs);
  if (source.refusals.tokens < kRefusalBurst) return false;
  if (nowNs - source.lastRateLimitedRefusalNs < kRateLimitedRefusalEveryNs) return false;
  if (limits_.maxRatePerS <= 0) return true;
  Refill(source.rate, limits_.maxRatePerS, Burst(), nowNs);
  return source.rate.tokens >= Burst();
}

ProbeGuard::SourceState* ProbeGuard::SourceOf(const SourceKey& address, int64_t nowNs) {
  auto found = sources_.find(address);
  if (found != sources_.end()) return &found->second;
  if (sources_.size() >= kMaxTrackedSources) {
    // Forget sources quiet long enough to be full again; at most once a second.
    if (nowNs - lastSweepNs_ < kSourceSweepEveryNs) return nullptr;
    lastSweepNs_ = nowNs;
    for (auto it = sources_.begin(); it != sources_.end();) {
      it = Quiet(it->second, nowNs) ? sources_.erase(it) : std::next(it);
    }
    if (sources_.size() >= kMaxTrackedSources) return nullptr;
  }
  SourceState fresh;
  fresh.rate = Bucket{Burst(), nowNs};
  fresh.refusals = Bucket{kRefusalBurst, nowNs};
  return &sources_.emplace(address, fresh).first->second;
}

bool ProbeGuard::TakeToken(const SourceKey& address, int64_t nowNs) {
  if (limits_.maxRatePerS <= 0) return true;
  SourceState* source = SourceOf(address, nowNs);
  if (source == nullptr) return false;
  Refill(source->rate, limits_.maxRatePerS, Burst(), nowNs);
  if (source->rate.tokens < 1) return false;
  source->rate.tokens -= 1;
  return true;
}

}  // namespace rtprobe
