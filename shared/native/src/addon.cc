// N-API glue: the ProbeSocket class JS sees, and the packing of event batches for JS on the
// main thread. All socket I/O stays on the socket's own thread.
//
// Lifecycle of one socket:
//   new ProbeSocket(options, onEvents)  opens + binds the socket, starts its thread, waits
//                                       until the thread applied its real-time options
//   start(schedule) / stop()            controller only
//   close()                             stops and JOINS the thread (a few µs), closes the
//                                       socket and releases the thread-safe function; the
//                                       promise resolves after every queued batch has been
//                                       delivered to onEvents
// While open, the thread-safe function keeps Node's event loop alive (like an open
// socket); unref() lets the process exit anyway. Env teardown (worker exit) and exit()
// (process.exit) stop and join the thread too.
#include <napi.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "checked_number.h"
#include "device_model.h"
#include "probe_socket.h"
#include "timer_latency.h"

namespace rtprobe {
namespace {

// A batch crosses to JS packed (layout: shared/native/event-records.ts): one fixed-size
// record per event, each distinct string (an address, a message) once, and the datagrams of
// 'rx' events in one buffer. JS builds the event objects from that itself, which costs far
// less than the dozen N-API calls and BigInts an object per event took here (issue 15).
constexpr size_t kRecordBytes = 120;

void PackRecord(uint8_t* r, const Event& ev, int32_t stringIndex) {
  r[0] = uint8_t(ev.kind);
  r[1] = uint8_t(ev.source);
  memcpy(r + 2, &ev.port, 2);
  memcpy(r + 4, &ev.target, 4);
  memcpy(r + 8, &ev.session, 4);
  memcpy(r + 12, &stringIndex, 4);
  memcpy(r + 16, &ev.dataOffset, 4);
  memcpy(r + 20, &ev.dataLength, 4);
  const uint64_t fields[12] = {ev.seq, ev.slot, uint64_t(ev.dueMonoNs), uint64_t(ev.sentMonoNs),
                               uint64_t(ev.t1RealNs), uint64_t(ev.stampNs), uint64_t(ev.rxMonoNs),
                               ev.t1Ns, ev.t2Ns, ev.t3Ns, ev.count, uint64_t(ev.readMonoNs)};
  static_assert(24 + sizeof fields == kRecordBytes, "record layout");
  memcpy(r + 24, fields, sizeof fields);
}

// The records' ArrayBuffer of one socket, reused from batch to batch (JS thread only): JS
// decodes a batch before its callback returns, so the next one may overwrite it. A fresh one
// a batch cost a zero-filled allocation, and its pages faulted in anew, each time (issue 15:
// an allocation-free path to JS). It grows to the largest batch and stays that size.
struct RecordArena {
  Napi::Reference<Napi::ArrayBuffer> buffer;
  size_t capacityBytes = 0;

  Napi::ArrayBuffer Fit(Napi::Env env, size_t bytes) {
    if (bytes > capacityBytes || buffer.IsEmpty()) {
      capacityBytes = std::max({bytes, 2 * capacityBytes, size_t(64) * kRecordBytes});
      buffer = Napi::Persistent(Napi::ArrayBuffer::New(env, capacityBytes));
    }
    return buffer.Value();
  }
};

void DeliverBatch(Napi::Env env, Napi::Function onEvents, EventBatch* batch, RecordArena& arena) {
  std::unique_ptr<EventBatch> owned(batch);
  if (env == nullptr || onEvents.IsEmpty()) {  // env is being torn down
    ReturnToPool(std::move(owned));
    return;
  }
  try {
    const std::vector<Event>& events = owned->events;
    Napi::ArrayBuffer records = arena.Fit(env, events.size() * kRecordBytes);
    // The datagrams are already back to back in the batch: one copy (not zero-filled first),
    // the offsets as they are. They get a buffer of their own a batch: an rx event's data is
    // a view of it, which a handler may keep.
    static const uint8_t kNoData = 0;
    Napi::Buffer<uint8_t> data = owned->data.empty() ? Napi::Buffer<uint8_t>::Copy(env, &kNoData, 1)
                                                     : Napi::Buffer<uint8_t>::Copy(env, owned->data.data(), owned->data.size());
    Napi::Array strings = Napi::Array::New(env);
    // Each distinct text once: a peer's address is stored once a batch, so consecutive events
    // usually share one (the same offset), looked up only when it changes.
    std::unordered_map<std::string_view, int32_t> stringIndex;  // views into the batch's data
    const char* texts = reinterpret_cast<const char*>(owned->data.data());
    uint32_t lastOffset = 0, lastLength = 0;
    int32_t lastIndex = -1;
    uint8_t* record = static_cast<uint8_t*>(records.Data());  // PackRecord writes every byte
    for (const Event& ev : events) {
      int32_t index = -1;
      if (ev.textLength > 0 && ev.textOffset == lastOffset && ev.textLength == lastLength && lastIndex >= 0) {
        index = lastIndex;
      } else if (ev.textLength > 0) {
        const std::string_view text(texts + ev.textOffset, ev.textLength);
        auto [it, added] = stringIndex.emplace(text, int32_t(stringIndex.size()));
        if (added) strings.Set(uint32_t(it->second), Napi::String::New(env, text.data(), text.size()));
        index = lastIndex = it->second;
        lastOffset = ev.textOffset;
        lastLength = ev.textLength;
      }
      PackRecord(record, ev, index);
      record += kRecordBytes;
    }
    const Napi::Number count = Napi::Number::New(env, double(events.size()));
    const Napi::BigInt readUntil = Napi::BigInt::New(env, owned->readUntilMonoNs);
    const Napi::BigInt flushedAt = Napi::BigInt::New(env, owned->flushedMonoNs);
    // Packed: the batch goes back to the socket thread's pool before JS runs.
    ReturnToPool(std::move(owned));
    onEvents.Call({records, count, strings, data, readUntil, flushedAt});
  } catch (const Napi::Error& err) {
    // A throwing handler surfaces as an uncaught exception, like any event handler. While
    // Node shuts down, JS cannot run and napi_throw fails too: the batch is dropped then
    // (node-addon-api's own rethrow would throw again and abort the process).
    napi_throw(env, err.Value());
  }
}

// State shared by the JS object, the env cleanup hook and the TSFN finalizer; whichever
// outlives the others frees it.
struct Instance {
  std::unique_ptr<ProbeSocket> socket;
  Napi::ThreadSafeFunction tsfn;
  napi_env env = nullptr;
  bool released = false;     // tsfn released (JS thread only)
  bool finalized = false;    // tsfn finalizer ran: every batch was delivered
  bool tearingDown = false;  // env cleanup: no promise may be resolved any more
  std::vector<Napi::Promise::Deferred> closeWaiters;
  std::shared_ptr<Instance>* hookRef = nullptr;
  std::vector<std::string> warnings;
  RecordArena records;  // released by the TSFN finalizer, after the last batch
};

void ShutdownInstance(Instance& inst) {
  if (inst.socket) inst.socket->Shutdown();  // joins the thread: no more batches after this
  if (!inst.released) {
    inst.released = true;
    inst.tsfn.Release();
  }
}

void CleanupHook(void* arg) {
  auto* ref = static_cast<std::shared_ptr<Instance>*>(arg);
  Instance& inst = **ref;
  inst.tearingDown = true;
  inst.hookRef = nullptr;
  ShutdownInstance(inst);
  delete ref;
}

void RemoveHook(Instance& inst) {
  if (inst.hookRef == nullptr) return;
  napi_remove_env_cleanup_hook(inst.env, CleanupHook, inst.hookRef);
  std::shared_ptr<Instance>* ref = inst.hookRef;
  inst.hookRef = nullptr;
  delete ref;
}

// Option readers: type errors are TypeErrors, range checks come from the JS wrapper and,
// again, from ProbeSocket.
bool Has(const Napi::Object& o, const char* key) {
  return o.Has(key) && !o.Get(key).IsUndefined() && !o.Get(key).IsNull();
}

int64_t GetInteger(const Napi::Object& o, const char* key, int64_t fallback, int64_t min,
                   int64_t max) {
  if (!Has(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!DoubleFitsInt64(d, min, max)) {
    throw Napi::RangeError::New(o.Env(), std::string(key) + " must be an integer " +
                                             std::to_string(min) + ".." + std::to_string(max) +
                                             ", got " + v.ToString().Utf8Value());
  }
  return int64_t(d);
}

std::string GetString(const Napi::Object& o, const char* key, const std::string& fallback) {
  if (!Has(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

int64_t GetBigInt(const Napi::Object& o, const char* key, int64_t min) {
  Napi::Value v = o.Get(key);
  if (!v.IsBigInt()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a bigint");
  bool lossless = false;
  const int64_t value = v.As<Napi::BigInt>().Int64Value(&lossless);
  if (!lossless || value < min) {
    throw Napi::RangeError::New(o.Env(), std::string(key) + " out of range");
  }
  return value;
}

// ---- new ProbeSocket(options, onEvents) ---------------------------------------------------
// The options are read in a fixed order (the first bad one is the error thrown).

// mode and protocol: which end of the measurement, and a UDP or a raw ICMP socket.
void ReadRole(const Napi::Object& o, SocketConfig& config) {
  Napi::Env env = o.Env();
  const std::string mode = GetString(o, "mode", "controller");
  if (mode != "controller" && mode != "reflector") {
    throw Napi::TypeError::New(env, "mode must be 'controller' or 'reflector'");
  }
  config.reflector = mode == "reflector";
  const std::string protocol = GetString(o, "protocol", "udp");
  if (protocol != "udp" && protocol != "icmp") {
    throw Napi::TypeError::New(env, "protocol must be 'udp' or 'icmp'");
  }
  config.icmp = protocol == "icmp";
  if (config.icmp && config.reflector) {
    throw Napi::TypeError::New(env, "protocol 'icmp' is for mode 'controller' only");
  }
}

// family, bindAddress and port of the local end.
void ReadLocalAddress(const Napi::Object& o, SocketConfig& config) {
  config.family = int(GetInteger(o, "family", 4, 4, 6));
  if (config.family != 4 && config.family != 6) {
    throw Napi::RangeError::New(o.Env(), "family must be 4 or 6");
  }
  config.bindAddress = GetString(o, "bindAddress", config.family == 4 ? "0.0.0.0" : "::");
  config.port = uint16_t(GetInteger(o, "port", 0, 0, 65535));
}

// What the socket is set up with (timestamps, dscp, priority, busyPollUs, interface), and
// spinUs: how its thread waits for a send deadline; batchIntervalMs: how often events go to JS;
// maxBacklogBatches: how many batches JS may hold before the thread pauses.
void ReadSocketOptions(const Napi::Object& o, SocketConfig& config) {
  const std::string timestamps = GetString(o, "timestamps", "kernel");
  if (timestamps != "kernel" && timestamps != "hardware") {
    throw Napi::TypeError::New(o.Env(), "timestamps must be 'kernel' or 'hardware'");
  }
  config.hardware = timestamps == "hardware";
  config.dscp = int(GetInteger(o, "dscp", -1, 0, 63));
  config.priority = GetInteger(o, "priority", -1, 0, 0x7fffffff);
  config.busyPollUs = int(GetInteger(o, "busyPollUs", -1, 0, 0x7fffffff));
  config.spinNs = GetInteger(o, "spinUs", 0, 0, 1'000'000) * 1000;
  if (Has(o, "spinCapped")) {
    if (!o.Get("spinCapped").IsBoolean()) throw Napi::TypeError::New(o.Env(), "spinCapped must be a boolean");
    config.spinCapped = o.Get("spinCapped").As<Napi::Boolean>().Value();
  }
  if (Has(o, "spinAuto")) {
    if (!o.Get("spinAuto").IsBoolean()) throw Napi::TypeError::New(o.Env(), "spinAuto must be a boolean");
    config.spinAuto = o.Get("spinAuto").As<Napi::Boolean>().Value();
  }
  config.iface = GetString(o, "interface", "");
  config.batchIntervalNs = GetInteger(o, "batchIntervalMs", 100, 10, 10'000) * 1'000'000;
  config.maxBacklogBatches = size_t(GetInteger(o, "maxBacklogBatches", 1024, 2, 1'000'000));
}

// rtPriority, cpu and mlock of the socket's thread.
void ReadThreadOptions(const Napi::Object& o, RtOptions& rt) {
  rt.rtPriority = int(GetInteger(o, "rtPriority", 0, 0, 99));
  rt.cpu = int(GetInteger(o, "cpu", -1, 0, 0xffff));
  if (Has(o, "mlock")) {
    if (!o.Get("mlock").IsBoolean()) throw Napi::TypeError::New(o.Env(), "mlock must be a boolean");
    rt.mlock = o.Get("mlock").As<Napi::Boolean>().Value();
  }
}

// authKey (--key-file): signs the probes or replies; UDP only. Needs the role read first.
void ReadAuthKey(const Napi::Object& o, SocketConfig& config) {
  if (!Has(o, "authKey")) return;
  Napi::Env env = o.Env();
  if (!o.Get("authKey").IsBuffer()) throw Napi::TypeError::New(env, "authKey must be a Buffer");
  Napi::Buffer<uint8_t> key = o.Get("authKey").As<Napi::Buffer<uint8_t>>();
  if (key.Length() < 16 || key.Length() > 4096) {
    throw Napi::RangeError::New(env, "authKey must be 16..4096 bytes");
  }
  if (config.icmp) throw Napi::TypeError::New(env, "authKey does not apply to protocol 'icmp'");
  config.authKey.assign(key.Data(), key.Data() + key.Length());
}

// The reflector's limits; its replay window comes with authentication (needs the key read).
void ReadGuardLimits(const Napi::Object& o, SocketConfig& config) {
  config.guard.maxRatePerS = double(GetInteger(o, "maxRatePerS", 0, 0, 1'000'000));
  config.guard.maxSessions = uint32_t(GetInteger(o, "maxSessions", 0, 0, 1'000'000));
  config.guard.maxSessionsPerSource = uint32_t(GetInteger(o, "maxSessionsPerSource", 0, 0, 1'000'000));
  config.guard.replayWindow = !config.authKey.empty();
}

SocketConfig ReadSocketConfig(const Napi::Object& o) {
  SocketConfig config;
  ReadRole(o, config);
  ReadLocalAddress(o, config);
  ReadSocketOptions(o, config);
  ReadThreadOptions(o, config.rt);
  ReadAuthKey(o, config);
  ReadGuardLimits(o, config);
  return config;
}

// Opens, configures and binds the socket (ProbeSocket's errors become JS Errors).
std::unique_ptr<ProbeSocket> OpenProbeSocket(Napi::Env env, const SocketConfig& config) {
  try {
    return std::make_unique<ProbeSocket>(config);
  } catch (const std::runtime_error& err) {
    throw Napi::Error::New(env, err.what());
  }
}

// The thread-safe function that carries the thread's batches to onEvents. Its finalizer runs
// on the JS thread after the last batch was delivered: it resolves the close() promises
// (unless the env is being torn down) and drops its reference to the instance.
Napi::ThreadSafeFunction NewBatchTsfn(Napi::Env env, Napi::Function onEvents,
                                      const std::shared_ptr<Instance>& inst) {
  return Napi::ThreadSafeFunction::New(
      env, onEvents, "rtprobe:ProbeSocket", 0 /* unlimited queue */, 1,
      [](Napi::Env, std::shared_ptr<Instance>* data) {
        Instance& self = **data;
        self.finalized = true;
        self.records.buffer.Reset();
        if (!self.tearingDown) {
          for (auto& waiter : self.closeWaiters) waiter.Resolve(waiter.Env().Undefined());
        }
        self.closeWaiters.clear();
        delete data;
      },
      new std::shared_ptr<Instance>(inst));
}

// Starts the socket's thread, whose batches go to the TSFN, and keeps its warnings. If no
// thread starts, the TSFN is released again and the error becomes a JS Error.
void StartSocketThread(Napi::Env env, Instance& inst) {
  Napi::ThreadSafeFunction tsfn = inst.tsfn;
  // The instance outlives every delivery: the TSFN's finalizer holds it until the last one.
  RecordArena* arena = &inst.records;
  const auto deliver = [arena](Napi::Env env, Napi::Function onEvents, EventBatch* batch) {
    DeliverBatch(env, onEvents, batch, *arena);
  };
  try {
    inst.warnings = inst.socket->StartThread([tsfn, deliver](std::unique_ptr<EventBatch> events) {
      EventBatch* batch = events.release();
      // Non-blocking, unlimited queue: the thread never waits for JS.
      if (tsfn.NonBlockingCall(batch, deliver) != napi_ok) ReturnToPool(std::unique_ptr<EventBatch>(batch));
    });
  } catch (const std::runtime_error& err) {
    ShutdownInstance(inst);
    throw Napi::Error::New(env, err.what());
  }
}

// ---- start(schedule) ----------------------------------------------------------------------

// Where seq and T1 go in each template, and when the slots are due.
void ReadOffsetsAndTiming(const Napi::Object& o, Schedule& schedule) {
  if (!Has(o, "seqOffset") || !Has(o, "t1Offset")) {
    throw Napi::TypeError::New(o.Env(), "schedule.seqOffset and schedule.t1Offset are required");
  }
  schedule.seqOffset = size_t(GetInteger(o, "seqOffset", 0, 0, 65499));
  schedule.t1Offset = size_t(GetInteger(o, "t1Offset", 0, 0, 65499));
  schedule.periodNs = GetBigInt(o, "periodNs", 1);
  schedule.startMonoNs = GetBigInt(o, "startMonoNs", 0);
  schedule.probesPerTarget = uint64_t(GetBigInt(o, "probesPerTarget", 0));
  schedule.endMonoNs = Has(o, "endMonoNs") ? GetBigInt(o, "endMonoNs", 0) : 0;
}

// targets[i]: an address of the socket's own family, and a port unless the socket is ICMP.
ScheduleTarget ReadScheduleTarget(const Napi::Array& targets, uint32_t i, int family, bool icmp) {
  Napi::Env env = targets.Env();
  if (!targets.Get(i).IsObject()) throw Napi::TypeError::New(env, "target must be an object");
  Napi::Object t = targets.Get(i).As<Napi::Object>();
  const int targetFamily = int(GetInteger(t, "family", family, 4, 6));
  if (targetFamily != family) {
    throw Napi::RangeError::New(
        env, "target " + std::to_string(i) + " is IPv" + std::to_string(targetFamily) +
                 " but this socket is IPv" + std::to_string(family) +
                 " (use one transport per address family)");
  }
  const std::string address = GetString(t, "address", "");
  // ICMP has no ports: any given one is ignored.
  const uint16_t port = icmp ? 0 : uint16_t(GetInteger(t, "port", 0, 1, 65535));
  try {
    return ParseTarget(family, address, port);
  } catch (const std::runtime_error& err) {
    throw Napi::Error::New(env, "target " + std::to_string(i) + ": " + err.what());
  }
}

// templates[i]: the bytes of target i's probes, long enough for the seq and T1 fields.
std::vector<uint8_t> ReadTemplate(const Napi::Array& templates, uint32_t i, size_t need) {
  Napi::Env env = templates.Env();
  Napi::Value tpl = templates.Get(i);
  if (!tpl.IsBuffer()) throw Napi::TypeError::New(env, "templates must be Buffers");
  Napi::Buffer<uint8_t> buf = tpl.As<Napi::Buffer<uint8_t>>();
  if (buf.Length() < need || buf.Length() > 65507) {
    throw Napi::RangeError::New(env, "template " + std::to_string(i) + " is " +
                                         std::to_string(buf.Length()) + " bytes: needs " +
                                         std::to_string(need) +
                                         "..65507 for the seq and T1 fields");
  }
  return std::vector<uint8_t>(buf.Data(), buf.Data() + buf.Length());
}

std::unique_ptr<Schedule> ReadSchedule(const Napi::Object& o, int family, bool icmp) {
  Napi::Env env = o.Env();
  auto schedule = std::make_unique<Schedule>();
  if (!o.Get("targets").IsArray() || !o.Get("templates").IsArray()) {
    throw Napi::TypeError::New(env, "schedule.targets and schedule.templates must be arrays");
  }
  Napi::Array targets = o.Get("targets").As<Napi::Array>();
  Napi::Array templates = o.Get("templates").As<Napi::Array>();
  if (targets.Length() == 0) throw Napi::RangeError::New(env, "schedule has no targets");
  if (templates.Length() != targets.Length()) {
    throw Napi::RangeError::New(env, "schedule needs one template per target");
  }
  ReadOffsetsAndTiming(o, *schedule);
  const size_t need = std::max(schedule->seqOffset, schedule->t1Offset) + 8;
  for (uint32_t i = 0; i < targets.Length(); ++i) {
    schedule->targets.push_back(ReadScheduleTarget(targets, i, family, icmp));
    schedule->templates.push_back(ReadTemplate(templates, i, need));
  }
  return schedule;
}

class ProbeSocketWrap : public Napi::ObjectWrap<ProbeSocketWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ProbeSocket",
                       {
                           InstanceAccessor<&ProbeSocketWrap::LocalPort>("localPort"),
                           InstanceAccessor<&ProbeSocketWrap::Warnings>("warnings"),
                           InstanceMethod<&ProbeSocketWrap::Start>("start"),
                           InstanceMethod<&ProbeSocketWrap::Stop>("stop"),
                           InstanceMethod<&ProbeSocketWrap::RequestFlush>("flush"),
                           InstanceMethod<&ProbeSocketWrap::Close>("close"),
                           InstanceMethod<&ProbeSocketWrap::Stats>("stats"),
                           InstanceMethod<&ProbeSocketWrap::SendDatagram>("sendDatagram"),
                           InstanceMethod<&ProbeSocketWrap::Ref>("ref"),
                           InstanceMethod<&ProbeSocketWrap::Unref>("unref"),
                       });
  }

  explicit ProbeSocketWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProbeSocketWrap>(info) {
    Napi::Env env = info.Env();
    if (!info.IsConstructCall()) throw Napi::TypeError::New(env, "use new ProbeSocket(...)");
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "ProbeSocket(options: object, onEvents: function)");
    }
    const SocketConfig config = ReadSocketConfig(info[0].As<Napi::Object>());
    auto inst = std::make_shared<Instance>();
    inst->env = env;
    inst->socket = OpenProbeSocket(env, config);
    inst->tsfn = NewBatchTsfn(env, info[1].As<Napi::Function>(), inst);
    StartSocketThread(env, *inst);
    inst->hookRef = new std::shared_ptr<Instance>(inst);
    napi_add_env_cleanup_hook(env, CleanupHook, inst->hookRef);
    inst_ = std::move(inst);
  }

  ~ProbeSocketWrap() override {
    // Collected without close(): still join the thread and let the TSFN go.
    if (!inst_) return;
    ShutdownInstance(*inst_);
    RemoveHook(*inst_);
  }

 private:
  Napi::Value LocalPort(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), inst_->socket->localPort());
  }

  Napi::Value Warnings(const Napi::CallbackInfo& info) {
    Napi::Array array = Napi::Array::New(info.Env(), inst_->warnings.size());
    for (size_t i = 0; i < inst_->warnings.size(); ++i) {
      array.Set(uint32_t(i), inst_->warnings[i]);
    }
    return array;
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (inst_->released) throw Napi::Error::New(env, "socket is closed");
    if (info.Length() < 1 || !info[0].IsObject()) {
      throw Napi::TypeError::New(env, "start(schedule: object)");
    }
    std::unique_ptr<Schedule> schedule =
        ReadSchedule(info[0].As<Napi::Object>(), inst_->socket->family(), inst_->socket->icmp());
    try {
      inst_->socket->StartSchedule(std::move(schedule));
    } catch (const std::runtime_error& err) {
      throw Napi::Error::New(env, err.what());
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (!inst_->released) inst_->socket->StopSchedule();
    return info.Env().Undefined();
  }

  Napi::Value RequestFlush(const Napi::CallbackInfo& info) {
    if (!inst_->released) inst_->socket->RequestFlush();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    if (inst_->finalized) {
      deferred.Resolve(env.Undefined());
      return deferred.Promise();
    }
    inst_->closeWaiters.push_back(deferred);
    ShutdownInstance(*inst_);
    RemoveHook(*inst_);
    return deferred.Promise();
  }

  // sendDatagram(data: Buffer, address: string, port: number): 0 or the errno. For a
  // controller's session-end: one datagram from this socket, without a TX stamp.
  Napi::Value SendDatagram(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsString() || !info[2].IsNumber()) {
      throw Napi::TypeError::New(env, "sendDatagram(data: Buffer, address: string, port: number)");
    }
    Napi::Buffer<uint8_t> data = info[0].As<Napi::Buffer<uint8_t>>();
    const double port = info[2].As<Napi::Number>().DoubleValue();
    if (!(port >= 1 && port <= 65535) || port != double(int64_t(port))) {
      throw Napi::RangeError::New(env, "sendDatagram: port must be an integer in 1..65535");
    }
    if (data.Length() == 0 || data.Length() > 65507) {
      throw Napi::RangeError::New(env, "sendDatagram: data must be 1..65507 bytes");
    }
    if (inst_->released) return Napi::Number::New(env, EBADF);
    try {
      const int err = inst_->socket->SendDatagram(data.Data(), data.Length(),
                                                  info[1].As<Napi::String>().Utf8Value(), uint16_t(port));
      return Napi::Number::New(env, err);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const SocketStats s = inst_->socket->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("sent", Napi::Number::New(env, double(s.sent)));
    o.Set("missed", Napi::Number::New(env, double(s.missed)));
    o.Set("received", Napi::Number::New(env, double(s.received)));
    o.Set("reflected", Napi::Number::New(env, double(s.reflected)));
    o.Set("passedToJs", Napi::Number::New(env, double(s.passedToJs)));
    o.Set("txStamps", Napi::Number::New(env, double(s.txStamps)));
    o.Set("sendErrors", Napi::Number::New(env, double(s.sendErrors)));
    o.Set("filtered", Napi::Number::New(env, double(s.filtered)));
    o.Set("wakeups", Napi::Number::New(env, double(s.wakeups)));
    o.Set("sendCalls", Napi::Number::New(env, double(s.sendCalls)));
    o.Set("batchesAllocated", Napi::Number::New(env, double(s.batchesAllocated)));
    o.Set("spinNs", Napi::Number::New(env, double(s.spinNs)));
    o.Set("sendGroupNs", Napi::Number::New(env, double(s.sendGroupNs)));
    o.Set("wakeLateP50Ns", Napi::Number::New(env, double(s.wakeLateP50Ns)));
    o.Set("wakeLateP90Ns", Napi::Number::New(env, double(s.wakeLateP90Ns)));
    o.Set("receiveBufferDrops", Napi::Number::New(env, double(s.receiveBufferDrops)));
    o.Set("backlogPauses", Napi::Number::New(env, double(s.backlogPauses)));
    o.Set("backlogPausedNs", Napi::Number::New(env, double(s.backlogPausedNs)));
    o.Set("unreachable", Napi::Number::New(env, double(s.unreachable)));
    o.Set("recvErrors", Napi::Number::New(env, double(s.recvErrors)));
    o.Set("refused", Napi::Number::New(env, double(s.refused)));
    return o;
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (!inst_->released) inst_->tsfn.Ref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (!inst_->released) inst_->tsfn.Unref(info.Env());
    return info.Env().Undefined();
  }

  std::shared_ptr<Instance> inst_;
};

Napi::Value MonotonicNs(const Napi::CallbackInfo& info) {
  return Napi::BigInt::New(info.Env(), MonoNowNs());
}

Napi::Value RealtimeNs(const Napi::CallbackInfo& info) {
  return Napi::BigInt::New(info.Env(), RealNowNs());
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("ProbeSocket", ProbeSocketWrap::Init(env));
  exports.Set("monotonicNs", Napi::Function::New(env, MonotonicNs, "monotonicNs"));
  exports.Set("realtimeNs", Napi::Function::New(env, RealtimeNs, "realtimeNs"));
  RegisterDeviceModel(env, exports);  // the lab's emulated NIC (device_model.h)
  RegisterTimerLatency(env, exports);  // the guest's timer latency (timer_latency.h)
  // 2: protocol 'icmp' (raw ICMP sockets) and stats().filtered
  // 3: authKey, maxRatePerS, maxSessions, 'refused' events and stats().refused
  // 4: refusal replies, fair session places, 'session-ended' events, sendDatagram(); 'unreachable'
  //    events, stats().recvErrors and stats().unreachable
  // 5: event batches packed (records, strings, data: shared/native/event-records.ts);
  //    maxSessionsPerSource, spinCapped, stats().spinNs
  // 6: 'reflect-tx' events carry t2Ns (the reflector pairs each reply's TX stamp with its T2)
  // 7: event batches come from a pool the socket thread reuses (no allocation per event or
  //    batch there once it is warm); stats().batchesAllocated
  // 8: a TX stamp read in time rides in its 'sent'/'reflected' record (count = its source);
  //    an 'rx' record's count is the controller's verdict on its tag; batchIntervalMs
  // 9: flush(): every event so far now, then a 'flushed' event; each batch comes with the
  //    time until which the socket's receive queue was read (readUntilMonoNs)
  // 10: each batch also says when the thread handed it over (flushedMonoNs); stats() count
  //    receiveBufferDrops (SO_RXQ_OVFL)
  // 11: maxBacklogBatches: the thread pauses while JS holds that many batches; stats()
  //    backlogPauses, backlogPausedNs
  // 12: spinAuto (the spin up to spinUs only as long as the slots' wake-ups come late);
  //    stats().wakeLateP90Ns
  // 13: the auto spin is the wake-ups' median lateness, not p90 + 10 µs; stats().wakeLateP50Ns
  exports.Set("version", Napi::Number::New(env, 14));
  return exports;
}

}  // namespace
}  // namespace rtprobe

// NODE_API_MODULE pastes the function name into an identifier: it must be unqualified.
static Napi::Object InitRtprobeNative(Napi::Env env, Napi::Object exports) {
  return rtprobe::InitModule(env, exports);
}

NODE_API_MODULE(rtprobe_native, InitRtprobeNative)
