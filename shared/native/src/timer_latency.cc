#include "timer_latency.h"

#include "clocks.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <future>
#include <memory>
#include <stdexcept>

namespace rtprobe {

namespace {

timespec ToTimespec(int64_t ns) {
  timespec ts{};
  ts.tv_sec = time_t(ns / 1'000'000'000);
  ts.tv_nsec = long(ns % 1'000'000'000);
  return ts;
}

int MostSignificantBit(uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

size_t TimerBuckets::IndexOf(int64_t ns) {
  if (ns < 0) ns = 0;
  const uint64_t v = uint64_t(ns) >= (uint64_t(1) << kTopBit) ? (uint64_t(1) << kTopBit) - 1 : uint64_t(ns);
  if (v < (uint64_t(2) << kSubBits)) return size_t(v);
  const int shift = MostSignificantBit(v) - kSubBits;
  return (size_t(shift + 1) << kSubBits) + size_t((v >> shift) - (uint64_t(1) << kSubBits));
}

int64_t TimerBuckets::LowestOf(size_t index) {
  if (index < (size_t(2) << kSubBits)) return int64_t(index);
  const int shift = int(index >> kSubBits) - 1;
  const uint64_t sub = (uint64_t(1) << kSubBits) + (index & ((size_t(1) << kSubBits) - 1));
  return int64_t(sub << shift);
}

int64_t TimerBuckets::WidthOf(size_t index) {
  if (index < (size_t(2) << kSubBits)) return 1;
  return int64_t(1) << (int(index >> kSubBits) - 1);
}

TimerLatencyThread::TimerLatencyThread(const TimerOptions& options) : options_(options) {
  if (options_.intervalNs < 10'000 || options_.intervalNs > 1'000'000'000) {
    throw std::range_error("intervalNs must be 10 µs..1 s");
  }
  for (auto& counts : counts_) counts.assign(TimerBuckets::kCount, 0);
  for (auto& counts : counts_) options_.rt.lockRegions.emplace_back(counts.data(), counts.size() * sizeof(uint64_t));
  // The thread applies its own real-time options; the constructor returns once it has.
  std::promise<std::vector<std::string>> applied;
  std::future<std::vector<std::string>> warnings = applied.get_future();
  thread_ = std::thread([this, &applied] {
    // Named for top -H, ps -L, taskset -p and chrt -p: what a user pins or raises.
    pthread_setname_np(pthread_self(), "rtprobe-timer");
    std::vector<std::string> w = ApplyRtOptions(options_.rt);
    int policy = 0;
    sched_param param{};
    if (pthread_getschedparam(pthread_self(), &policy, &param) == 0 && policy == SCHED_FIFO) {
      fifoPriority_ = param.sched_priority;
    }
    applied.set_value(std::move(w));
    Run();
    UnlockRtMemory(options_.rt);
  });
  warnings_ = warnings.get();
}

TimerLatencyThread::~TimerLatencyThread() { Stop(); }

void TimerLatencyThread::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void TimerLatencyThread::Run() {
  int64_t dueNs = MonoNowNs() + options_.intervalNs;
  while (!stop_.load(std::memory_order_relaxed)) {
    const timespec due = ToTimespec(dueNs);
    const int err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, nullptr);
    if (err == EINTR) continue;  // a signal: sleep on to the same due time
    const int64_t wokeNs = MonoNowNs();
    Record(wokeNs - dueNs, wokeNs);
    dueNs += options_.intervalNs;
    // As cyclictest: due times a late wake-up has already passed are skipped, and counted.
    uint64_t skipped = 0;
    while (dueNs <= wokeNs) {
      dueNs += options_.intervalNs;
      ++skipped;
    }
    if (skipped > 0) {
      std::lock_guard<std::mutex> guard(lock_);
      overruns_ += skipped;
    }
  }
}

void TimerLatencyThread::Record(int64_t latencyNs, int64_t wokeMonoNs) {
  const size_t index = TimerBuckets::IndexOf(latencyNs);
  std::lock_guard<std::mutex> guard(lock_);
  ++counts_[active_][index];
  if (index < lowIndex_[active_]) lowIndex_[active_] = index;
  if (index > highIndex_[active_]) highIndex_[active_] = index;
  ++count_;
  if (latencyNs > maxNs_) {
    maxNs_ = latencyNs;
    maxAtMonoNs_ = wokeMonoNs;
  }
}

TimerDrain TimerLatencyThread::Drain() {
  TimerDrain drain;
  int drained;
  size_t low;
  size_t high;
  {
    // Held for a swap only: the measuring thread never waits on a scan.
    std::lock_guard<std::mutex> guard(lock_);
    drained = active_;
    active_ = 1 - active_;
    low = lowIndex_[drained];
    high = highIndex_[drained];
    lowIndex_[drained] = SIZE_MAX;
    highIndex_[drained] = 0;
    drain.count = count_;
    drain.maxNs = maxNs_;
    drain.overruns = overruns_;
    const int64_t maxAtMonoNs = maxAtMonoNs_;
    count_ = 0;
    maxNs_ = -1;
    overruns_ = 0;
    drain.maxAtRealNs = drain.maxNs < 0 ? 0 : RealMinusMonoNs() + maxAtMonoNs;
  }
  std::vector<uint64_t>& counts = counts_[drained];
  for (size_t i = low; i <= high && i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    drain.buckets.emplace_back(TimerBuckets::LowestOf(i) + (TimerBuckets::WidthOf(i) - 1) / 2, counts[i]);
    counts[i] = 0;
  }
  return drain;
}

namespace {

struct TimerHolder {
  std::unique_ptr<TimerLatencyThread> thread;
  napi_env env = nullptr;
  bool hooked = false;
};

void TimerCleanupHook(void* arg) {
  auto* holder = static_cast<TimerHolder*>(arg);
  holder->hooked = false;
  if (holder->thread) holder->thread->Stop();
}

int64_t ReadInteger(const Napi::Object& o, const char* key, int64_t fallback, int64_t min, int64_t max) {
  if (!o.Has(key) || o.Get(key).IsUndefined()) return fallback;
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != double(int64_t(d)) || d < double(min) || d > double(max)) {
    throw Napi::RangeError::New(o.Env(), std::string(key) + " must be an integer " + std::to_string(min) +
                                             ".." + std::to_string(max));
  }
  return int64_t(d);
}

class TimerLatencyWrap : public Napi::ObjectWrap<TimerLatencyWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "TimerLatency",
                       {
                           InstanceAccessor<&TimerLatencyWrap::Warnings>("warnings"),
                           InstanceAccessor<&TimerLatencyWrap::FifoPriority>("fifoPriority"),
                           InstanceMethod<&TimerLatencyWrap::Drain>("drain"),
                           InstanceMethod<&TimerLatencyWrap::Stop>("stop"),
                       });
  }

  explicit TimerLatencyWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TimerLatencyWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "TimerLatency(options: object)");
    const Napi::Object o = info[0].As<Napi::Object>();
    TimerOptions options;
    options.intervalNs = ReadInteger(o, "intervalNs", 1'000'000, 10'000, 1'000'000'000);
    options.rt.rtPriority = int(ReadInteger(o, "rtPriority", 0, 0, 99));
    options.rt.cpu = int(ReadInteger(o, "cpu", -1, -1, 4095));
    options.rt.mlock = o.Has("mlock") && o.Get("mlock").ToBoolean().Value();
    holder_ = std::make_unique<TimerHolder>();
    holder_->env = env;
    try {
      holder_->thread = std::make_unique<TimerLatencyThread>(options);
    } catch (const std::exception& err) {
      throw Napi::Error::New(env, err.what());
    }
    holder_->hooked = napi_add_env_cleanup_hook(env, TimerCleanupHook, holder_.get()) == napi_ok;
  }

  ~TimerLatencyWrap() override {
    if (!holder_) return;
    if (holder_->hooked) napi_remove_env_cleanup_hook(holder_->env, TimerCleanupHook, holder_.get());
    if (holder_->thread) holder_->thread->Stop();
  }

 private:
  Napi::Value Warnings(const Napi::CallbackInfo& info) {
    const std::vector<std::string>& warnings = holder_->thread->warnings();
    Napi::Array array = Napi::Array::New(info.Env(), warnings.size());
    for (size_t i = 0; i < warnings.size(); ++i) array.Set(uint32_t(i), warnings[i]);
    return array;
  }

  Napi::Value FifoPriority(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), holder_->thread->fifoPriority());
  }

  // { values: Float64Array, counts: Float64Array, count, maxNs, maxAtMs, overruns }
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const TimerDrain drain = holder_->thread->Drain();
    Napi::Float64Array values = Napi::Float64Array::New(env, drain.buckets.size());
    Napi::Float64Array counts = Napi::Float64Array::New(env, drain.buckets.size());
    for (size_t i = 0; i < drain.buckets.size(); ++i) {
      values[i] = double(drain.buckets[i].first);
      counts[i] = double(drain.buckets[i].second);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("values", values);
    o.Set("counts", counts);
    o.Set("count", Napi::Number::New(env, double(drain.count)));
    o.Set("maxNs", Napi::Number::New(env, double(drain.maxNs)));
    o.Set("maxAtMs", Napi::Number::New(env, double(drain.maxAtRealNs) / 1e6));
    o.Set("overruns", Napi::Number::New(env, double(drain.overruns)));
    return o;
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    holder_->thread->Stop();
    return info.Env().Undefined();
  }

  std::unique_ptr<TimerHolder> holder_;
};

}  // namespace

void RegisterTimerLatency(Napi::Env env, Napi::Object exports) {
  exports.Set("TimerLatency", TimerLatencyWrap::Init(env));
}

}  // namespace rtprobe
