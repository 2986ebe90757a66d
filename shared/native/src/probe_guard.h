// The reflector's admission of genuine probes (agent/probe-guard.ts, same rules): not a
// replay, within the session places, within the source's rate; fair places (one per source
// address+port, a share per source address, freed by a session-end); and the budget of
// refusal replies per source. Bounded state; no allocation per probe once a session and its
// source are known (a session that replaces another reuses its node).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <unordered_map>

namespace rtprobe {

struct GuardLimits {
  double maxRatePerS = 0;   // per source address; 0 = no limit
  uint32_t maxSessions = 0; // 0 = no cap
  uint32_t maxSessionsPerSource = 0;  // 0 = SharePerAddress(maxSessions)
  bool replayWindow = false;
};

enum class GuardVerdict : uint8_t { kAnswer, kReplay, kRateLimited, kSessionLimit };

// A verdict with what a refusal reply says about it (probe-layout.ts).
struct GuardDecision {
  GuardVerdict verdict = GuardVerdict::kAnswer;
  uint64_t detail = 0;  // session-limit: places busy; rate-limited: --max-rate
  uint8_t scope = 0;    // session-limit: 0 the agent's places, 1 the source address's share
};

class ProbeGuard {
 public:
  static constexpr uint64_t kReplayWindow = 1024;  // agent/replay-window.ts REPLAY_WINDOW
  static constexpr int64_t kSessionReclaimNs = 5'000'000'000;
  static constexpr size_t kMaxTrackedSources = 4096;
  // agent/probe-guard.ts REFUSALS_PER_S, REFUSAL_BURST, RATE_LIMITED_REFUSAL_EVERY_MS
  static constexpr double kRefusalsPerS = 100;
  static constexpr double kRefusalBurst = 10;
  static constexpr int64_t kRateLimitedRefusalEveryNs = 1'000'000'000;

  explicit ProbeGuard(const GuardLimits& limits);

  // `local`: the address the probe was sent to (a key of it; 0 when unknown). A place is held
  // by a source address+port *towards one local address*: one controller socket probing
  // several addresses of one agent (many targets) holds one place per address.
  GuardDecision Admit(const sockaddr_storage& from, uint64_t local, uint32_t session, uint64_t seq,
                      int64_t nowNs);
  // A session-end: frees the place when `from` (address and port) holds `session` towards `local`.
  bool End(const sockaddr_storage& from, uint64_t local, uint32_t session);
  // Whether a refusal reply may go to `from` now; takes from its refusal budget.
  bool RefusalAllowed(const sockaddr_storage& from, bool rateLimited, int64_t nowNs);
  // agent/probe-guard.ts sharePerAddress
  static uint32_t SharePerAddress(uint32_t maxSessions);

 private:
  // A source address (IPv4 in the low word) as a key that needs no allocation.
  struct SourceKey {
    uint64_t hi = 0, lo = 0;
    bool operator==(const SourceKey& other) const { return hi == other.hi && lo == other.lo; }
  };
  struct SourceKeyHash {
    size_t operator()(const SourceKey& k) const { return size_t(k.hi * 0x9e3779b97f4a7c15ULL ^ k.lo); }
  };
  struct SessionPlace {
    SourceKey address;  // the source that opened the session
    uint16_t port = 0;
    uint64_t local = 0;  // the agent address it probes
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
  struct SourceState {
    Bucket rate;
    Bucket refusals;
    int64_t lastRateLimitedRefusalNs = INT64_MIN / 2;
  };
  using Sessions = std::unordered_map<uint32_t, SessionPlace>;

  // The place a new session from (address, port) takes over: its endpoint's old session, else
  // when its address or the agent is full the idlest place silent kSessionReclaimNs, else
  // end() (a fresh place). Sets *refusal when there is none to be had.
  Sessions::iterator PlaceFor(const SourceKey& address, uint16_t port, uint64_t local, int64_t nowNs,
                              GuardDecision* refusal);
  bool TakeToken(const SourceKey& address, int64_t nowNs);
  SourceState* SourceOf(const SourceKey& address, int64_t nowNs);
  static void Refill(Bucket& bucket, double ratePerS, double burst, int64_t nowNs);
  double Burst() const;
  bool Quiet(SourceState& source, int64_t nowNs) const;

  static SourceKey KeyOf(const sockaddr_storage& from);
  static uint16_t PortOf(const sockaddr_storage& from);

  GuardLimits limits_;
  uint32_t share_ = 0;  // places one source address may hold; 0 = no cap
  Sessions sessions_;
  std::unordered_map<SourceKey, SourceState, SourceKeyHash> sources_;
  int64_t lastSweepNs_ = INT64_MIN / 2;
};

}  // namespace rtprobe
