// The reflector's admission of genuine probes (agent/probe-guard.ts, same rules): not a
// replay, within the session cap, within the source's rate. Bounded state; no allocation
// per probe once a session and its source are known.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <unordered_map>

namespace rtprobe {

struct GuardLimits {
  double maxRatePerS = 0;   // per source address; 0 = no limit
  uint32_t maxSessions = 0; // 0 = no cap
  bool replayWindow = false;
};

enum class GuardVerdict : uint8_t { kAnswer, kReplay, kRateLimited, kSessionLimit };

class ProbeGuard {
 public:
  static constexpr uint64_t kReplayWindow = 1024;  // agent/replay-window.ts REPLAY_WINDOW
  static constexpr int64_t kSessionReclaimNs = 5'000'000'000;
  static constexpr size_t kMaxTrackedSources = 4096;

  explicit ProbeGuard(const GuardLimits& limits) : limits_(limits) {}

  GuardVerdict Admit(const sockaddr_storage& from, uint32_t session, uint64_t seq, int64_t nowNs);

 private:
  struct SessionPlace {
    int64_t lastSeenNs = 0;
    bool any = false;  // a sequence number was marked
    uint64_t top = 0;
    std::array<uint64_t, kReplayWindow / 64> bits{};
    bool Seen(uint64_t seq) const;
    void Mark(uint64_t seq);
  };
  struct Bucket {
    double tokens = 0;
    int64_t lastNs = 0;
  };

  bool ReclaimSession(int64_t nowNs);
  bool TakeToken(const sockaddr_storage& from, int64_t nowNs);
  void Refill(Bucket& bucket, int64_t nowNs) const;
  double Burst() const;

  // A source address (IPv4 in the low word) as a key that needs no allocation.
  struct SourceKey {
    uint64_t hi = 0, lo = 0;
    bool operator==(const SourceKey& other) const { return hi == other.hi && lo == other.lo; }
  };
  struct SourceKeyHash {
    size_t operator()(const SourceKey& k) const { return size_t(k.hi * 0x9e3779b97f4a7c15ULL ^ k.lo); }
  };
  static SourceKey KeyOf(const sockaddr_storage& from);

  GuardLimits limits_;
  std::unordered_map<uint32_t, SessionPlace> sessions_;
  std::unordered_map<SourceKey, Bucket, SourceKeyHash> sources_;
  int64_t lastSweepNs_ = INT64_MIN / 2;
};

}  // namespace rtprobe
