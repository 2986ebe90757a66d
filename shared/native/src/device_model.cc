#include "device_model.h"

#include "checked_number.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "probe_socket.h"  // MonoNowNs
#include "rt_thread.h"     // ErrnoName

namespace rtprobe {
namespace {

constexpr size_t kMaxFrame = 65536;
constexpr int kReadBatch = 64;  // frames read per direction per round, so neither starves

// Attaches to an existing TAP. TUNSETIFF on a name that does not exist would create a new,
// non-persistent device: check first, so a typo fails instead of making a stray interface.
int AttachTapHere(const std::string& name, std::string& error) {
  if (if_nametoindex(name.c_str()) == 0) {
    error = "no interface '" + name + "' (create it first: ip tuntap add dev " + name + " mode tap)";
    return -1;
  }
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open /dev/net/tun: " + ErrnoName(errno);
    return -1;
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    close(fd);
    error = "cannot attach to TAP '" + name + "': " + ErrnoName(err) +
            (err == EBUSY ? " (another process has it open)"
             : err == EINVAL ? " (not a TAP device?)"
             : err == EPERM ? " (needs CAP_NET_ADMIN)" : "");
    return -1;
  }
  return fd;
}

// The TUN file belongs to the network namespace of the thread that opens it: attach from a
// short-lived thread moved into the namespace, so the caller's own namespace never changes.
int AttachTap(const std::string& name, const std::string& netns) {
  std::string error;
  int fd = -1;
  if (netns.empty()) {
    fd = AttachTapHere(name, error);
  } else {
    std::thread([&] {
      const std::string path = "/run/netns/" + netns;
      const int nsFd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (nsFd < 0) {
        error = "cannot open " + path + ": " + ErrnoName(errno);
        return;
      }
      const int rc = setns(nsFd, CLONE_NEWNET);
      const int err = errno;
      close(nsFd);
      if (rc != 0) {
        error = "cannot enter network namespace " + netns + ": " + ErrnoName(err);
        return;
      }
      fd = AttachTapHere(name, error);
    }).join();
  }
  if (fd < 0) throw std::runtime_error(error);
  return fd;
}

// IPv4/IPv6 UDP, ICMP echo request/reply, ICMPv6 echo request/reply (one VLAN tag allowed).
// IPv6 extension headers are not walked: such frames pass undistorted.
bool Distortable(const std::vector<uint8_t>& f) {
  if (f.size() < 14) return false;
  size_t off = 14;
  unsigned type = unsigned(f[12]) << 8 | f[13];
  if (type == 0x8100 && f.size() >= 18) {
    type = unsigned(f[16]) << 8 | f[17];
    off = 18;
  }
  if (type == 0x0800) {
    if (f.size() < off + 20) return false;
    const size_t ihl = size_t(f[off] & 0x0f) * 4;
    const uint8_t proto = f[off + 9];
    if (proto == 17) return true;
    if (proto != 1) return false;
    const unsigned fragOffset = (unsigned(f[off + 6]) & 0x1f) << 8 | f[off + 7];
    if (fragOffset != 0 || f.size() <= off + ihl) return false;
    const uint8_t icmpType = f[off + ihl];
    return icmpType == 0 || icmpType == 8;
  }
  if (type == 0x86dd) {
    if (f.size() < off + 40) return false;
    const uint8_t next = f[off + 6];
    if (next == 17) return true;
    if (next != 58 || f.size() <= off + 40) return false;
    const uint8_t icmpType = f[off + 40];
    return icmpType == 128 || icmpType == 129;
  }
  return false;
}

void BusyWaitNs(int64_t ns) {
  if (ns <= 0) return;
  const int64_t until = MonoNowNs() + ns;
  while (MonoNowNs() < until) {
  }
}

void SleepUntilNs(int64_t monoNs) {
  timespec ts{time_t(monoNs / 1000000000), long(monoNs % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void ArmAbsolute(int fd, int64_t monoNs) {
  itimerspec spec{};
  if (monoNs > 0) {
    spec.it_value.tv_sec = time_t(monoNs / 1000000000);
    spec.it_value.tv_nsec = long(monoNs % 1000000000);
  }
  timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr);  // all zero = disarm
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

DeviceModel::DeviceModel(const DeviceModelConfig& config) : config_(config) {
  if (config_.queueFrames < 1) throw std::runtime_error("queueFrames must be at least 1");
  if (config_.stallEveryNs > 0 && config_.stallNs >= config_.stallEveryNs) {
    throw std::runtime_error("a stall must be shorter than its period");
  }
  if (config_.delayKind == DelayKind::kUniform && config_.delayMaxNs < config_.delayNs) {
    throw std::runtime_error("uniform delay: the upper bound is below the lower bound");
  }
  if (config_.delayKind == DelayKind::kSpike && config_.spikeEvery == 0) {
    throw std::runtime_error("spike delay: 'every' must be at least 1");
  }
  rng_ = config_.seed;
  try {
    tap_[0] = AttachTap(config_.tapA, config_.netnsA);
    tap_[1] = AttachTap(config_.tapB, config_.netnsB);
    timerFd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    stopFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (timerFd_ < 0 || stopFd_ < 0) throw std::runtime_error("timerfd/eventfd: " + ErrnoName(errno));
  } catch (...) {
    for (int& fd : tap_) CloseFd(fd);
    CloseFd(timerFd_);
    CloseFd(stopFd_);
    throw;
  }
  running_ = true;
  copyThread_ = std::thread([this] { CopyLoop(); });
  if (config_.stallEveryNs > 0 && config_.stallNs > 0) {
    stallThread_ = std::thread([this] { StallLoop(); });
  }
}

DeviceModel::~DeviceModel() { Stop(); }

void DeviceModel::Stop() {
  if (stopped_) return;
  stopped_ = true;
  const uint64_t one = 1;
  if (write(stopFd_, &one, sizeof one) < 0) {
    // cannot happen with a fresh eventfd; the joins below would hang, so say why first
    NoteError("stop: eventfd write failed: " + ErrnoName(errno));
  }
  if (copyThread_.joinable()) copyThread_.join();
  if (stallThread_.joinable()) stallThread_.join();
  for (int& fd : tap_) CloseFd(fd);
  CloseFd(timerFd_);
  CloseFd(stopFd_);
}

DeviceModelStats DeviceModel::stats() {
  std::lock_guard<std::mutex> guard(statsLock_);
  DeviceModelStats out = published_;
  out.stalls = stalls_.load();
  out.stallHeldNs = stallHeldNs_.load();
  out.running = running_.load();
  return out;
}

void DeviceModel::NoteError(const std::string& message) {
  std::lock_guard<std::mutex> guard(statsLock_);
  published_.lastError = message;
  stats_.lastError = message;
}

uint64_t DeviceModel::NextRandom() {
  // splitmix64: tiny, seedable, and the same sequence on every machine
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t DeviceModel::DelayFor(uint64_t index) {
  switch (config_.delayKind) {
    case DelayKind::kConstant:
      return config_.delayNs;
    case DelayKind::kUniform:
      return config_.delayNs +
             int64_t(NextRandom() % uint64_t(config_.delayMaxNs - config_.delayNs + 1));
    case DelayKind::kSpike:
      return index % config_.spikeEvery == 0 ? config_.delayNs : 0;
    default:
      return 0;
  }
}

void DeviceModel::CopyLoop() {
  // The default 50 µs timer slack would be added to every release.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  pollfd fds[4] = {{tap_[0], POLLIN, 0}, {tap_[1], POLLIN, 0}, {timerFd_, POLLIN, 0},
                   {stopFd_, POLLIN, 0}};
  bool gone = false;
  while (!gone) {
    const int n = poll(fds, 4, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      NoteError("poll: " + ErrnoName(errno));
      break;
    }
    if (fds[3].revents != 0) break;
    const int64_t waitFromNs = MonoNowNs();
    std::unique_lock<std::mutex> lock(bigLock_);  // frames wait here while a stall holds it
    const int64_t nowNs = MonoNowNs();
    stats_.maxLockWaitNs = std::max(stats_.maxLockWaitNs, nowNs - waitFromNs);
    for (int dir = 0; dir < 2; ++dir) {
      if (fds[dir].revents & POLLIN) ReadFrames(dir, nowNs);
      if (fds[dir].revents & (POLLERR | POLLHUP | POLLNVAL)) {
        // A TAP deleted under us (lab down): nothing more will come from it.
        stats_.lastError = "TAP '" + (dir == 0 ? config_.tapA : config_.tapB) + "' went away";
        gone = true;
      }
    }
    if (fds[2].revents & POLLIN) {
      uint64_t expirations = 0;
      if (read(timerFd_, &expirations, sizeof expirations) < 0) {
        // EAGAIN: already drained by a re-arm; nothing to do
      }
    }
    ReleaseDue(MonoNowNs());
    ArmTimer();
    std::lock_guard<std::mutex> guard(statsLock_);
    published_ = stats_;
  }
  running_ = false;
}

void DeviceModel::ReadFrames(int dir, int64_t nowNs) {
  static thread_local std::vector<uint8_t> buffer(kMaxFrame);
  for (int i = 0; i < kReadBatch; ++i) {
    const ssize_t n = read(tap_[dir], buffer.data(), buffer.size());
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        stats_.readErrors++;
        stats_.lastError = "read: " + ErrnoName(errno);
      }
      return;
    }
    Dir(dir).frames++;
    BusyWaitNs(config_.frameCostNs);
    HandleFrame(dir, std::vector<uint8_t>(buffer.data(), buffer.data() + n),
                config_.frameCostNs > 0 ? MonoNowNs() : nowNs);
  }
}

// Order of the knobs for one distortable frame with index i (1, 2, ... per direction):
// drop (i % dropEvery == 0) wins over everything; then the delay (spike, constant or uniform);
// then the queue bound; then reorder (hold it until the next one) and duplicate (a second
// copy with the same release time, sent with it also when the frame is held).
void DeviceModel::HandleFrame(int dir, std::vector<uint8_t>&& frame, int64_t nowNs) {
  DirectionStats& ds = Dir(dir);
  const bool distort = (dir == 0 ? config_.distortAtoB : config_.distortBtoA) && Distortable(frame);
  uint64_t index = 0;
  int64_t delayNs = 0;
  if (!distort) {
    ds.undistorted++;
  } else {
    index = ++index_[dir];
    if (config_.dropEvery != 0 && index % config_.dropEvery == 0) {
      ds.droppedInjected++;
      return;
    }
    delayNs = DelayFor(index);
  }
  Held& held = held_[dir];
  if (queued_[dir] + (held.active ? 1 : 0) >= config_.queueFrames) {
    ds.droppedQueue++;
    return;
  }
  if (delayNs > 0) ds.delayed++;
  if (distort && config_.delayKind == DelayKind::kSpike && delayNs > 0) ds.spikes++;
  Entry entry{nowNs + delayNs, order_++, dir, std::move(frame)};
  const bool duplicate = distort && config_.duplicateEvery != 0 && index % config_.duplicateEvery == 0;
  if (duplicate) ds.duplicated++;
  if (distort && config_.reorderEvery != 0 && index % config_.reorderEvery == 0 && !held.active) {
    held.active = true;
    held.deadlineNs = nowNs + config_.reorderHoldNs;
    held.duplicate = duplicate;
    held.entry = std::move(entry);
    return;
  }
  const int64_t releaseNs = entry.releaseNs;
  Enqueue(std::move(entry), duplicate);
  if (distort && held.active) {
    // The held frame leaves right after this one: one swap of neighbours.
    held.entry.releaseNs = std::max(held.entry.releaseNs, releaseNs);
    ReleaseHeld(dir);
    ds.reordered++;
  }
}

void DeviceModel::ReleaseHeld(int dir) {
  Held& held = held_[dir];
  held.active = false;
  held.entry.order = order_++;
  Enqueue(std::move(held.entry), held.duplicate);
}

void DeviceModel::Enqueue(Entry&& entry, bool duplicate) {
  if (duplicate) {
    Entry copy{entry.releaseNs, order_++, entry.dir, entry.frame};
    EnqueueOne(std::move(entry));
    EnqueueOne(std::move(copy));
  } else {
    EnqueueOne(std::move(entry));
  }
}

void DeviceModel::EnqueueOne(Entry&& entry) {
  const int dir = entry.dir;
  queue_.push(std::move(entry));
  queued_[dir]++;
  DirectionStats& ds = Dir(dir);
  ds.queueHighWater = std::max<uint64_t>(ds.queueHighWater, queued_[dir]);
}

void DeviceModel::ReleaseDue(int64_t nowNs) {
  for (int dir = 0; dir < 2; ++dir) {
    Held& held = held_[dir];
    if (held.active && held.deadlineNs <= nowNs) {
      held.entry.releaseNs = std::max(held.entry.releaseNs, nowNs);
      ReleaseHeld(dir);
      Dir(dir).reorderTimeouts++;
    }
  }
  while (!queue_.empty() && queue_.top().releaseNs <= nowNs) {
    // priority_queue only hands out const tops; the entry is popped right after the move
    Entry entry = std::move(const_cast<Entry&>(queue_.top()));
    queue_.pop();
    queued_[entry.dir]--;
    DirectionStats& ds = Dir(entry.dir);
    const ssize_t n = write(tap_[1 - entry.dir], entry.frame.data(), entry.frame.size());
    if (n < 0) {
      ds.writeErrors++;
      stats_.lastError = "write: " + ErrnoName(errno);
    } else {
      ds.forwarded++;
    }
  }
}

void DeviceModel::ArmTimer() {
  int64_t nextNs = queue_.empty() ? 0 : queue_.top().releaseNs;
  for (const Held& held : held_) {
    if (held.active && (nextNs == 0 || held.deadlineNs < nextNs)) nextNs = held.deadlineNs;
  }
  ArmAbsolute(timerFd_, nextNs);
}

void DeviceModel::StallLoop() {
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (timer < 0) {
    NoteError("stall timer: " + ErrnoName(errno));
    return;
  }
  int64_t nextNs = MonoNowNs() + config_.stallEveryNs;
  pollfd fds[2] = {{timer, POLLIN, 0}, {stopFd_, POLLIN, 0}};
  while (true) {
    ArmAbsolute(timer, nextNs);
    const int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents != 0) break;
    uint64_t expirations = 0;
    if (read(timer, &expirations, sizeof expirations) < 0) continue;
    int64_t heldNs = 0;
    {
      // The competing worker: it holds the lock and sleeps (not spins), so on a small machine
      // the stall costs the copy thread its lock, not a whole CPU.
      std::lock_guard<std::mutex> lock(bigLock_);
      const int64_t fromNs = MonoNowNs();
      SleepUntilNs(fromNs + config_.stallNs);
      heldNs = MonoNowNs() - fromNs;
    }
    stalls_++;
    stallHeldNs_ += heldNs;
    const int64_t nowNs = MonoNowNs();
    nextNs += config_.stallEveryNs;
    if (nextNs <= nowNs) nextNs = nowNs + config_.stallEveryNs;  // skip, never burst
  }
  close(timer);
}

// ---- JS glue ------------------------------------------------------------------------------

namespace {

bool HasKey(const Napi::Object& o, const char* key) {
  return o.Has(key) && !o.Get(key).IsUndefined() && !o.Get(key).IsNull();
}

int64_t ReadInt(const Napi::Object& o, const char* key, int64_t fallback, int64_t min) {
  if (!HasKey(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!DoubleFitsInt64(d, min, int64_t(9'000'000'000'000'000))) {
    throw Napi::RangeError::New(o.Env(), std::string(key) + " must be an integer >= " +
                                             std::to_string(min) + ", got " +
                                             v.ToString().Utf8Value());
  }
  return int64_t(d);
}

std::string ReadString(const Napi::Object& o, const char* key, const std::string& fallback) {
  if (!HasKey(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// new DeviceModel(options): the TAPs (and their namespaces), then the knobs, in this order
// (the first bad one is the error thrown).
DeviceModelConfig ReadDeviceModelConfig(const Napi::Object& o) {
  Napi::Env env = o.Env();
  DeviceModelConfig c;
  c.tapA = ReadString(o, "tapA", "");
  c.tapB = ReadString(o, "tapB", "");
  if (c.tapA.empty() || c.tapB.empty() || c.tapA.size() >= IFNAMSIZ || c.tapB.size() >= IFNAMSIZ) {
    throw Napi::TypeError::New(env, "tapA and tapB must be interface names of 1..15 characters");
  }
  c.netnsA = ReadString(o, "netnsA", "");
  c.netnsB = ReadString(o, "netnsB", "");
  for (const std::string* ns : {&c.netnsA, &c.netnsB}) {
    if (ns->find('/') != std::string::npos || *ns == "." || *ns == "..") {
      throw Napi::TypeError::New(env, "netnsA/netnsB must be names under /run/netns");
    }
  }
  c.stallNs = ReadInt(o, "stallNs", 0, 0);
  c.stallEveryNs = ReadInt(o, "stallEveryNs", 0, 0);
  c.frameCostNs = ReadInt(o, "frameCostNs", 0, 0);
  c.queueFrames = size_t(ReadInt(o, "queueFrames", 4096, 1));
  const std::string kind = ReadString(o, "delayKind", "none");
  if (kind == "none") c.delayKind = DelayKind::kNone;
  else if (kind == "constant") c.delayKind = DelayKind::kConstant;
  else if (kind == "uniform") c.delayKind = DelayKind::kUniform;
  else if (kind == "spike") c.delayKind = DelayKind::kSpike;
  else throw Napi::TypeError::New(env, "delayKind must be none, constant, uniform or spike");
  c.delayNs = ReadInt(o, "delayNs", 0, 0);
  c.delayMaxNs = ReadInt(o, "delayMaxNs", c.delayNs, 0);
  c.spikeEvery = uint64_t(ReadInt(o, "spikeEvery", 0, 0));
  c.dropEvery = uint64_t(ReadInt(o, "dropEvery", 0, 0));
  c.duplicateEvery = uint64_t(ReadInt(o, "duplicateEvery", 0, 0));
  c.reorderEvery = uint64_t(ReadInt(o, "reorderEvery", 0, 0));
  c.reorderHoldNs = ReadInt(o, "reorderHoldNs", c.reorderHoldNs, 1);
  c.seed = uint64_t(ReadInt(o, "seed", 1, 0));
  const std::string distort = ReadString(o, "distort", "a-to-b");
  if (distort != "a-to-b" && distort != "b-to-a" && distort != "both" && distort != "none") {
    throw Napi::TypeError::New(env, "distort must be a-to-b, b-to-a, both or none");
  }
  c.distortAtoB = distort == "a-to-b" || distort == "both";
  c.distortBtoA = distort == "b-to-a" || distort == "both";
  return c;
}

Napi::Object DirectionToJs(Napi::Env env, const DirectionStats& d) {
  Napi::Object o = Napi::Object::New(env);
  auto num = [&](const char* key, uint64_t v) { o.Set(key, Napi::Number::New(env, double(v))); };
  num("frames", d.frames);
  num("forwarded", d.forwarded);
  num("undistorted", d.undistorted);
  num("droppedQueue", d.droppedQueue);
  num("droppedInjected", d.droppedInjected);
  num("duplicated", d.duplicated);
  num("reordered", d.reordered);
  num("reorderTimeouts", d.reorderTimeouts);
  num("delayed", d.delayed);
  num("spikes", d.spikes);
  num("writeErrors", d.writeErrors);
  num("queueHighWater", d.queueHighWater);
  return o;
}

// Holds the model for the JS object and for the env cleanup hook, whichever comes first.
struct Holder {
  std::unique_ptr<DeviceModel> model;
  napi_env env = nullptr;
  bool hooked = false;
};

void CleanupHook(void* arg) {
  auto* holder = static_cast<Holder*>(arg);
  holder->hooked = false;
  if (holder->model) holder->model->Stop();
}

class DeviceModelWrap : public Napi::ObjectWrap<DeviceModelWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "DeviceModel",
                       {
                           InstanceMethod<&DeviceModelWrap::Stats>("stats"),
                           InstanceMethod<&DeviceModelWrap::Stop>("stop"),
                       });
  }

  explicit DeviceModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceModelWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      throw Napi::TypeError::New(env, "DeviceModel(options: object)");
    }
    const DeviceModelConfig c = ReadDeviceModelConfig(info[0].As<Napi::Object>());
    holder_ = std::make_unique<Holder>();
    holder_->env = env;
    try {
      holder_->model = std::make_unique<DeviceModel>(c);
    } catch (const std::runtime_error& err) {
      throw Napi::Error::New(env, err.what());
    }
    holder_->hooked = napi_add_env_cleanup_hook(env, CleanupHook, holder_.get()) == napi_ok;
  }

  ~DeviceModelWrap() override {
    if (!holder_) return;
    if (holder_->hooked) napi_remove_env_cleanup_hook(holder_->env, CleanupHook, holder_.get());
    if (holder_->model) holder_->model->Stop();
  }

 private:
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const DeviceModelStats s = holder_->model->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("aToB", DirectionToJs(env, s.aToB));
    o.Set("bToA", DirectionToJs(env, s.bToA));
    o.Set("stalls", Napi::Number::New(env, double(s.stalls)));
    o.Set("stallHeldNs", Napi::Number::New(env, double(s.stallHeldNs)));
    o.Set("maxLockWaitNs", Napi::Number::New(env, double(s.maxLockWaitNs)));
    o.Set("readErrors", Napi::Number::New(env, double(s.readErrors)));
    o.Set("running", Napi::Boolean::New(env, s.running));
    if (s.lastError.empty()) o.Set("lastError", env.Null());
    else o.Set("lastError", s.lastError);
    return o;
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    holder_->model->Stop();
    return info.Env().Undefined();
  }

  std::unique_ptr<Holder> holder_;
};

}  // namespace

void RegisterDeviceModel(Napi::Env env, Napi::Object exports) {
  exports.Set("DeviceModel", DeviceModelWrap::Init(env));
}

}  // namespace rtprobe
