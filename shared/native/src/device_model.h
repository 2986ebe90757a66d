// A user-space "emulated NIC": the stand-in for QEMU's device model in the rtprobe lab. One
// copy thread moves Ethernet frames between two persistent TAP devices (A = host side, B =
// guest side) with poll(); every frame it handles is handled under a global lock that a
// competing worker thread can hold for a while (QEMU's big lock), and frames can be delayed,
// dropped, duplicated and reordered on a seeded, known schedule so that tests can check that
// rtprobe reports exactly what it was given.
//
// Delays never block the copy thread: a frame's release time goes into a time-ordered queue
// and a CLOCK_MONOTONIC timerfd (absolute) wakes the thread for the earliest one, so a
// delayed frame never holds back the frames behind it beyond their own release time.
//
// Only IPv4/IPv6 UDP and ICMP/ICMPv6 echo frames are distorted; ARP, NDP and everything else
// pass undistorted (they still wait for the lock, pay the frame cost and use the queue):
// distorting neighbour discovery would break the lab rather than calibrate it.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

namespace rtprobe {

enum class DelayKind : uint8_t { kNone, kConstant, kUniform, kSpike };

struct DeviceModelConfig {
  std::string tapA;    // host side (frames A→B are "to the guest")
  std::string tapB;    // guest side
  std::string netnsA;  // optional: attach to tapA inside /run/netns/<netnsA>
  std::string netnsB;  // optional: attach to tapB inside /run/netns/<netnsB>
  int64_t stallNs = 0;       // the worker holds the global lock this long ...
  int64_t stallEveryNs = 0;  // ... this often (0 = no stalls)
  int64_t frameCostNs = 0;   // busy wait per frame, under the lock
  size_t queueFrames = 4096; // frames waiting for release, per direction
  DelayKind delayKind = DelayKind::kNone;
  int64_t delayNs = 0;     // constant delay; uniform lower bound; spike size
  int64_t delayMaxNs = 0;  // uniform upper bound (inclusive)
  uint64_t spikeEvery = 0; // spike: every Nth distortable frame
  uint64_t dropEvery = 0;
  uint64_t duplicateEvery = 0;
  uint64_t reorderEvery = 0;      // hold the Nth frame and send it right after the next one
  int64_t reorderHoldNs = 1000000000;  // no next frame within this: send it alone, uncounted
  uint64_t seed = 1;
  bool distortAtoB = true;
  bool distortBtoA = false;
};

// Counters of one direction (A→B or B→A).
struct DirectionStats {
  uint64_t frames = 0;          // read from the source TAP
  uint64_t forwarded = 0;       // written to the destination TAP (duplicates included)
  uint64_t undistorted = 0;     // not UDP/ICMP echo (ARP, NDP, TCP, ...) or direction not distorted
  uint64_t droppedQueue = 0;    // the direction's queue was full
  uint64_t droppedInjected = 0; // drop every Nth
  uint64_t duplicated = 0;
  uint64_t reordered = 0;       // swaps done (each one reorders one frame)
  uint64_t reorderTimeouts = 0; // held frames sent alone: no next frame came in time
  uint64_t delayed = 0;         // frames given a delay > 0
  uint64_t spikes = 0;          // frames given the spike delay
  uint64_t writeErrors = 0;
  uint64_t queueHighWater = 0;
};

struct DeviceModelStats {
  DirectionStats aToB;
  DirectionStats bToA;
  uint64_t stalls = 0;
  int64_t stallHeldNs = 0;     // total time the worker held the lock
  int64_t maxLockWaitNs = 0;   // longest wait of the copy thread for the lock
  uint64_t readErrors = 0;
  bool running = false;  // false once the copy thread ended (stopped, or a TAP went away)
  std::string lastError;
};

class DeviceModel {
 public:
  // Attaches to both TAPs (IFF_TAP | IFF_NO_PI) and starts the threads. Throws
  // std::runtime_error naming the TAP and the errno.
  explicit DeviceModel(const DeviceModelConfig& config);
  ~DeviceModel();
  DeviceModel(const DeviceModel&) = delete;
  DeviceModel& operator=(const DeviceModel&) = delete;

  // Stops and joins both threads and closes the TAP fds; frames still queued are discarded.
  // Safe to call twice.
  void Stop();
  DeviceModelStats stats();

 private:
  struct Entry {
    int64_t releaseNs;
    uint64_t order;  // FIFO among equal release times
    int dir;         // 0 = A→B, 1 = B→A
    std::vector<uint8_t> frame;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.releaseNs != b.releaseNs ? a.releaseNs > b.releaseNs : a.order > b.order;
    }
  };
  struct Held {
    bool active = false;
    bool duplicate = false;  // send a second copy with it
    int64_t deadlineNs = 0;
    Entry entry;
  };

  void CopyLoop();
  void StallLoop();
  void ReadFrames(int dir, int64_t nowNs);
  void HandleFrame(int dir, std::vector<uint8_t>&& frame, int64_t nowNs);
  // Queues the entry and, with `duplicate`, a copy with the same release time right behind it.
  void Enqueue(Entry&& entry, bool duplicate);
  void EnqueueOne(Entry&& entry);
  void ReleaseHeld(int dir);
  void ReleaseDue(int64_t nowNs);
  void ArmTimer();
  int64_t DelayFor(uint64_t index);
  uint64_t NextRandom();
  DirectionStats& Dir(int dir) { return dir == 0 ? stats_.aToB : stats_.bToA; }
  void NoteError(const std::string& message);

  DeviceModelConfig config_;
  int tap_[2] = {-1, -1};
  int timerFd_ = -1;
  int stopFd_ = -1;
  std::thread copyThread_;
  std::thread stallThread_;
  std::mutex bigLock_;    // the global lock: every frame is handled while holding it
  std::mutex statsLock_;  // guards published_
  bool stopped_ = false;
  std::atomic<uint64_t> stalls_{0};
  std::atomic<int64_t> stallHeldNs_{0};
  std::atomic<bool> running_{false};

  // Copy-thread state (guarded by bigLock_).
  std::priority_queue<Entry, std::vector<Entry>, Later> queue_;
  size_t queued_[2] = {0, 0};
  uint64_t index_[2] = {0, 0};  // distortable frames seen per direction
  Held held_[2];
  uint64_t order_ = 0;
  uint64_t rng_ = 0;
  DeviceModelStats stats_;      // the copy thread's own (guarded by bigLock_)
  DeviceModelStats published_;  // a copy for stats(), refreshed after each round of work
};

// Registers the JS class `DeviceModel` on the addon's exports (see native-device-model.ts).
void RegisterDeviceModel(Napi::Env env, Napi::Object exports);

}  // namespace rtprobe
