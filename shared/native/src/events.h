// Events produced by the socket thread. Plain C++ data: the thread never touches JS; the
// addon glue (addon.cc) turns a batch into JS objects on the main thread.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

namespace rtprobe {

enum class EventKind : uint8_t {
  kSent,       // controller: a probe left the socket (with its TX stamp when read in time)
  kTx,         // controller: kernel/NIC send stamp of a probe whose kSent had already gone
  kMissed,     // controller: a schedule slot was skipped
  kRx,         // any datagram that was not reflected natively
  kDone,       // controller: the schedule has ended
  kError,      // something failed on the thread (never thrown there)
  kReflected,  // reflector: a probe was answered on the fast path (with the reply's TX stamp when read in time)
  kReflectTx,  // reflector: kernel/NIC send stamp of a reply whose kReflected had already gone
  kRefused,    // reflector: well-formed probes not answered (message = reason, count)
  kSessionEnded,  // reflector: session-ends that freed their session's place (count)
  kUnreachable,  // controller: ICMP errors for probes to a target (message = what, count)
  kFlushed,      // the thread handed over everything before it, as RequestFlush asked (count: requests)
};

// Same codes as the wire flags (probe-layout.ts STAMP_*).
enum class StampSource : uint8_t { kNone = 0, kUser = 1, kKernel = 2, kHardware = 3 };

struct Event {
  explicit Event(EventKind eventKind) : kind(eventKind) {}
  EventKind kind;
  StampSource source = StampSource::kNone;
  uint32_t target = 0;   // controller: index into ScheduleSpec.targets
  uint32_t session = 0;  // reflector: session id from the probe
  uint16_t port = 0;
  uint64_t seq = 0;
  uint64_t slot = 0;
  int64_t dueMonoNs = 0;
  int64_t sentMonoNs = 0;
  int64_t t1RealNs = 0;  // sent: T1 written into the probe
  int64_t stampNs = 0;   // tx, and sent/reflected with a stamp folded in: txNs; rx: rxNs
  int64_t rxMonoNs = 0;   // rx: its reception on CLOCK_MONOTONIC (the kernel stamp brought over); reflected: the read
  int64_t readMonoNs = 0; // rx: CLOCK_MONOTONIC right after the recvmmsg that read it
  uint64_t t1Ns = 0;     // reflected: fields as on the wire
  uint64_t t2Ns = 0;
  uint64_t t3Ns = 0;
  uint64_t count = 0;    // refused, session-ended: consecutive ones; missed: consecutive slots;
                         // sent, reflected: the StampSource of a TX stamp folded in (0: none);
                         // rx on a controller with a key: 1 + AuthCheck of its tag (0: unchecked);
                         // flushed: the RequestFlush calls it answers
  // rx: the datagram, in its batch's data (event_batch_pool.h).
  uint32_t dataOffset = 0;
  uint32_t dataLength = 0;
  // In the batch's data too (length 0: none): rx, reflected: the peer's address as text (an
  // IPv6 one with "%iface"), once a batch for the events of one peer; error, refused,
  // unreachable: what happened (rare, coalesced). So an event is plain data of two cache
  // lines, written once, with no text to copy or string to build per probe.
  uint32_t textOffset = 0;
  uint32_t textLength = 0;
};
static_assert(std::is_trivially_copyable<Event>::value && sizeof(Event) <= 128, "an event is two cache lines of plain data");

}  // namespace rtprobe
