// A timestamping UDP socket served by one dedicated I/O thread (no libuv). The thread sends
// the controller's isochronous schedule or reflects probes (agent), reads kernel RX stamps
// and TX stamps from the error queue, and hands events out in batches through a callback
// that must not block (the addon forwards them to JS with a thread-safe function).
//
// With `icmp` the socket is a raw ICMP (IPv4) or ICMPv6 socket instead (controller only, needs
// CAP_NET_RAW): probes are echo requests (controller/transport/icmp-codec.ts), the thread writes their
// 16-bit sequence and, for IPv4, their checksum before each send; it strips the IPv4 header
// of what it reads and hands only echo replies to JS, counting everything else as filtered.
#pragma once

#include <netinet/in.h>
#include <linux/errqueue.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "clocks.h"
#include "event_batch_pool.h"
#include "events.h"
#include "probe_auth.h"
#include "probe_guard.h"
#include "rt_thread.h"
#include "wake_lateness.h"

namespace rtprobe {

struct SocketConfig {
  bool reflector = false;
  bool icmp = false;  // raw ICMP / ICMPv6 socket (controller only)
  int family = 4;     // 4 or 6
  std::string bindAddress;
  uint16_t port = 0;
  bool hardware = false;  // SOF_TIMESTAMPING_*_HARDWARE + SIOCSHWTSTAMP on `iface`
  int dscp = -1;          // -1 = leave the default
  int64_t priority = -1;  // SO_PRIORITY; -1 = leave
  int busyPollUs = -1;    // SO_BUSY_POLL; -1 = leave
  int64_t spinNs = 0;     // busy-wait this long before each deadline (0 = sleep only)
  bool spinCapped = true;  // ... but at most a tenth of the time between two slots
  // ... or, up to that, only as long as the slots' wake-ups come late (WakeLateness): the
  // median of their lateness
  bool spinAuto = false;
  std::string iface;      // SO_BINDTODEVICE; empty = none
  // How often pending events go to JS unasked (RequestFlush asks): a run without soak
  // intervals and the agent take them once a second (JS wakes 10 times less).
  int64_t batchIntervalNs = 100'000'000;
  // Batches handed to JS and not yet given back, at most, before the thread pauses (its
  // memory bound when JS falls behind; ~170 KiB a batch). See ProbeSocket::WaitOutBacklog.
  size_t maxBacklogBatches = 1024;
  RtOptions rt;
  // --key-file: the controller signs its probes; the reflector answers only genuine ones and
  // signs its replies. Empty = no authentication.
  std::vector<uint8_t> authKey;
  GuardLimits guard;  // reflector only
};

// sockaddr family, then the address (16 bytes, an IPv4 one in the first 4), then the port.
using EndpointKey = std::array<uint8_t, 19>;

struct ScheduleTarget {
  sockaddr_storage addr{};
  socklen_t addrLen = 0;
};

struct Schedule {
  std::vector<ScheduleTarget> targets;
  std::vector<std::vector<uint8_t>> templates;
  size_t seqOffset = 0;
  size_t t1Offset = 0;
  int64_t periodNs = 0;
  int64_t startMonoNs = 0;
  uint64_t probesPerTarget = 0;  // 0 = until stop()
  int64_t endMonoNs = 0;         // 0 = none; no slot due at or after it is sent
};

struct SocketStats {
  uint64_t sent = 0;
  uint64_t missed = 0;
  uint64_t received = 0;
  uint64_t reflected = 0;
  uint64_t passedToJs = 0;
  uint64_t txStamps = 0;
  uint64_t sendErrors = 0;  // failed sendmsg calls (probes or replies), every one
  uint64_t recvErrors = 0;  // failed recvmsg calls (data or error queue), every one
  uint64_t refused = 0;   // reflector: well-formed probes not answered (forged, replays, limits)
  uint64_t filtered = 0;  // icmp: datagrams read but not handed to JS (not echo replies)
  uint64_t wakeups = 0;   // times the thread woke from its wait (the cost of a quiet rig)
  uint64_t sendCalls = 0;  // system calls that sent stamped datagrams (a sendmmsg counts once)
  uint64_t unreachable = 0;  // controller: ICMP errors (port/host/net unreachable) for probes
  uint64_t batchesAllocated = 0;  // event batches allocated: the pool's warm-up, then none
  int64_t spinNs = 0;  // controller: the spin before each deadline in force (with spinAuto: now)
  // controller: the median and 90th percentile of the last 64 slot wake-ups' lateness (-1: not yet 16)
  int64_t wakeLateP50Ns = -1;
  int64_t wakeLateP90Ns = -1;
  int64_t sendGroupNs = 0;  // controller: kSendGroupNs when the schedule in force is sent in groups, else 0
  // datagrams the kernel dropped at this socket, its receive buffer full (SO_RXQ_OVFL): known
  // from the next datagram read after them
  uint64_t receiveBufferDrops = 0;
  // times the thread paused because JS held maxBacklogBatches batches, and for how long in all
  // (CLOCK_MONOTONIC): slots due then were missed, datagrams waited in (or overflowed) the socket
  uint64_t backlogPauses = 0;
  int64_t backlogPausedNs = 0;
};

// Called on the I/O thread with a batch of events; must return quickly and never block. The
// batch goes back to its pool (ReturnToPool) once delivered.
using FlushFn = std::function<void(std::unique_ptr<EventBatch>)>;

class ProbeSocket {
 public:
  // Opens, configures and binds the socket. Throws std::runtime_error with a clear message.
  explicit ProbeSocket(const SocketConfig& config);
  ~ProbeSocket();
  ProbeSocket(const ProbeSocket&) = delete;
  ProbeSocket& operator=(const ProbeSocket&) = delete;

  // Starts the I/O thread; returns once it has applied its real-time options, with the
  // warnings of what could not be applied. Throws std::runtime_error if no thread starts.
  std::vector<std::string> StartThread(FlushFn flush);

  // Controller: hands a schedule to the thread. Throws std::runtime_error if one is running.
  void StartSchedule(std::unique_ptr<Schedule> schedule);
  // Controller: ends the running schedule (the thread emits DoneEvent); no-op otherwise.
  void StopSchedule();
  // Asks the thread to read what the socket holds and hand every event so far to JS now,
  // ending with a kFlushed event that counts the requests it answers (mid-gap while a
  // schedule runs). A stream closes an interval on it: everything answered until now.
  void RequestFlush();
  // Stops and joins the thread, closes the socket. Idempotent, any thread but the I/O one.
  void Shutdown();

  uint16_t localPort() const { return localPort_; }
  int family() const { return config_.family; }
  bool icmp() const { return config_.icmp; }
  SocketStats stats() const;
  // Sends one datagram from the socket without a TX stamp, from the JS thread (a controller's
  // session-end). Returns 0 or the errno; throws std::runtime_error for a bad address.
  int SendDatagram(const uint8_t* buf, size_t len, const std::string& address, uint16_t port);

  // Stops and joins every live socket thread; registered with atexit so that a
  // process.exit() never leaves a thread calling into a torn-down Node.
  static void ShutdownAll();

 private:
  struct TxRef {
    uint32_t id = 0;
    bool used = false;
    uint32_t owner = 0;  // controller: target, reflector: session
    uint64_t seq = 0;
    uint64_t t2Ns = 0;  // reflector: the probe's T2, so the stamp event carries T3true - T2
    // Where its sent/reflected event sits while that event's batch is still being filled:
    // the stamp is written into it instead of a record of its own (FoldTxStamp).
    uint64_t batchSerial = 0;
    uint32_t eventIndex = 0;
  };
  static constexpr size_t kTxRingSize = 4096;  // in-flight TX stamps we can still match
  // Reflector: the address a probe was sent to (IP_PKTINFO / IPV6_PKTINFO), so that the reply
  // leaves from it. An agent on 0.0.0.0 with several addresses must answer from the one the
  // controller probed, or the controller rejects the reply as coming from the wrong source.
  struct ReplySource {
    bool valid = false;
    in_pktinfo v4{};
    in6_pktinfo v6{};
  };
  static constexpr size_t kMaxBatch = 1024;
  // Events go to JavaScript at most this often (and at once when a batch is full or the
  // schedule ends): a JS wake-up per probe costs more CPU than the probe, and lands in the
  // window where the measured guest must run.
  static constexpr int64_t kFlushIntervalNs = 100'000'000;
  // Slots at least this far apart get the quiet window (replies and TX stamps read in the next
  // slot's wake-up, before its send). Closer slots leave no window to keep quiet: the thread
  // reads whenever it is not sending, so that reading keeps up with many targets.
  static constexpr int64_t kQuietMinSpacingNs = 1'000'000;
  // With the quiet window, a slot's wake-up reads the socket only if this long has passed since
  // the last read (or a batch is about to go to JS): the replies and TX stamps of a few slots
  // wait in the socket, stamped by the kernel on arrival, and are read with one recvmmsg each
  // (queue and error queue) instead of one pair every slot or two. At most ~2 x 50 small
  // datagrams (~100 KiB) queue at 1000 probes a second, far under the socket's budget.
  static constexpr int64_t kQuietReadIntervalNs = 50'000'000;
  // Slots closer than this (more than 200 targets at 100 Hz) are sent in groups: the thread
  // wakes once per kSendGroupNs, at the last moment that keeps the group's first slot within
  // kSendGroupNs of its due time, and sends every slot due then with one sendmmsg, instead of
  // one wake-up and one system call per slot microseconds apart. A probe's send error is then
  // up to kSendGroupNs by design (still measured, per probe, in send_error).
  static constexpr int64_t kSendGroupNs = 50'000;
  // Groups only where a target's period is at least this (1 kHz a target and slower): the
  // deliberate delay stays a twentieth of the period, far from the skip rule (a slot more
  // than one period late is missed). A single target at 30 kHz keeps one wake-up a slot.
  static constexpr int64_t kSendGroupMinPeriodNs = 1'000'000;
  // A reflector's batch due to JS waits up to this long for the next probe's wake-up rather
  // than cost a wake-up of its own.
  static constexpr int64_t kFlushRideNs = 20'000'000;
  // Replies sent this recently count as the one a flush answer rides on: the next probe is
  // then most of a period away.
  static constexpr int64_t kJustRepliedNs = 1'000'000;
  // How long a flush answer reads the socket first, at most: what is queued when it comes is
  // read in far less; a flood that outruns the thread must not hold the answer back.
  static constexpr int64_t kFlushReadBudgetNs = 2'000'000;
  // SO_RCVBUF asked for (the kernel doubles it for its bookkeeping).
  static constexpr int kReceiveBufferBytes = 16 << 20;

  // Constructor steps, in this order; each throws std::runtime_error.
  void ValidateConfig() const;
  void OpenSocket();  // raw ICMP / ICMPv6 with `icmp`, else UDP; non-blocking
  // IPV6_V6ONLY, then SO_BINDTODEVICE, DSCP, SO_PRIORITY and SO_BUSY_POLL as configured.
  void ApplySocketOptions();
  // SO_TIMESTAMPING: RX stamps with each datagram, TX stamps (by OPT_ID) on the error queue.
  void EnableTimestamping();
  unsigned TimestampingFlags() const;
  // ICMP: the kernel drops what the thread would drop (ICMP_FILTER / ICMP6_FILTER).
  void KeepOnlyIcmpWeRead();
  void EnableNicTimestamping();  // `hardware`: SIOCSHWTSTAMP on `iface`
  void BindTo(const ScheduleTarget& local);  // and reads back the port
  // The I/O thread's state and buffers, allocated before it starts (option mlock locks them).
  void PrepareThreadState();

  static void* ThreadMain(void* self);
  void Run();
  void TakeControl();
  // Sends every probe that is due (each send leaves its TX stamp awaited): those due at one
  // wake-up together, with one sendmmsg.
  void SendDue();
  // Writes the probe of `target` for `slot` into sendBuf_ (seq, T1, tag, checksum) and queues
  // it in probes_; sends the queue first when it is full.
  void QueueProbe(size_t target, uint64_t slot, int64_t dueMonoNs);
  // Sends the queued probes (SendStamped), then records each as sent.
  void SendQueuedProbes();
  // icmp: the ICMP message of a received datagram (IPv4 header stripped, also when false);
  // false when it is not for JS.
  bool SelectIcmpReply(const uint8_t** data, size_t* len) const;
  void AdvanceSlot();
  void FinishSchedule();
  // Reads what socketReady_ says is there, plus the TX stamps of what was just sent, and
  // clears what it found empty; stops early when a slot is due or JS wants control (with
  // finishBatches, not before the messages a batch read already are handled).
  // `untilNs` (CLOCK_MONOTONIC, -1: none): stop reading then even if more is queued (a flood
  // must not keep a flush answer waiting).
  void Drain(bool finishBatches = false, int64_t untilNs = -1);
  // Controller, quiet reads: between a send and the wake-up for the next slot (its spin
  // window), where the target answers. Nothing is read there; it waits for that wake-up.
  bool InQuietWindow(int64_t nowNs) const;
  // Quiet reads at 10 slots a second or more (and a spin shorter than the slot spacing):
  // batches go to JS in the middle of the quiet window, from a wake-up of their own, when
  // nothing is in flight.
  bool FlushesMidGap() const;
  int64_t GapMiddleNs() const;  // halfway between the last slot and the next slot's wake-up
  // When the next send is due: the next slot, or with send groups the end of its group's wait.
  int64_t SendAtNs() const { return nextDueMonoNs_ + groupDelayNs_; }
  // Each hands out one message, read kRecvBatch at a time (recvmmsg); false when the socket
  // had nothing (EAGAIN, or the last batch was short) or the read failed (reported).
  bool ReadErrQueue();
  bool ReadDatagram();
  // Datagrams and error-queue messages are read in batches: one system call for up to
  // kRecvBatch of them when they queue up (many targets, a burst, a deferred read).
  static constexpr int kRecvBatch = 16;
  // Larger than any probe (1472) behind an IPv4 header with options (60): nothing valid is
  // cut. A longer datagram is handed on cut (MSG_TRUNC) and rejected by its header anyway.
  static constexpr size_t kRecvSlotBytes = 2048;
  struct RecvBatch {
    // What every wake-up looks at first, the buffers after it.
    int count = 0;       // messages the last recvmmsg read
    int next = 0;        // the next one to hand out
    int64_t monoNs = 0;  // CLOCK_MONOTONIC right after that recvmmsg
    // rx_: CLOCK_REALTIME - CLOCK_MONOTONIC then, and the last instant the queue was known empty
    // before it (every datagram of it came later): MonoOfKernelStamp's bounds.
    int64_t realMinusMonoNs = 0;
    int64_t notBeforeMonoNs = 0;
    bool drained = false;  // it read fewer than kRecvBatch: the queue was empty then
    mmsghdr msgs[kRecvBatch];
    iovec iovs[kRecvBatch];
    sockaddr_storage names[kRecvBatch];
    alignas(cmsghdr) char control[kRecvBatch][512];
    uint8_t data[kRecvBatch][kRecvSlotBytes];
  };
  // Reads up to kRecvBatch messages into `batch` (flags: 0 or MSG_ERRQUEUE); the count read,
  // or -1 with errno.
  int FillBatch(RecvBatch* batch, int flags);
  // The index of the next message of `batch`, reading a new batch when it is used up; -1
  // with errno (EAGAIN also when the last batch was short: the queue was empty then).
  int NextInBatch(RecvBatch* batch, int flags);
  // Adds the drops the SO_RXQ_OVFL counter on `batch`'s datagrams moved since the last read.
  void CountReceiveBufferDrops(const RecvBatch& batch);
  // JS holds maxBacklogBatches batches: sleep until it gives half back (or control, a flush
  // request or close needs the thread). Nothing is sent or read meanwhile, so memory stays
  // bounded: slots that come due are skipped and counted as missed (SendDue, as after a late
  // wake-up), datagrams wait in the socket's buffer, and what overflows it the kernel counts.
  bool Backlogged() const;
  void WaitOutBacklog();
  // Messages read into a batch and not handled yet (a Drain that stopped for a due slot).
  bool HasBufferedMessages() const;
  void ForgetDrained();  // after a sleep: both queues may hold new messages
  // Hands a received datagram to JS with its stamp (the user-space read when none came).
  void PushRx(const uint8_t* data, size_t len, const sockaddr_storage& from, int64_t rxNs,
              StampSource source, int64_t rxMonoNs, bool portless, uint64_t authVerdict = 0);
  static ReplySource ReplySourceOf(msghdr* msg);
  // Writes the IP(V6)_PKTINFO that makes a reply leave from the address probed; its space.
  size_t WriteSourceCmsg(cmsghdr* c, const ReplySource& from) const;
  // Answers the probe in rx_'s message `rxIndex` in place; the reply waits in replies_ for
  // the end of its receive batch (SendReplies), a refusal goes at once.
  void Reflect(int rxIndex, size_t len, const ReplySource& replyFrom, int64_t rxNs,
               StampSource rxSource, int64_t rxMonoNs);
  // Reflector: the replies of one receive batch, written over their probes in rx_ (which
  // stays untouched until they are sent) and sent with one sendmmsg: under load a system call
  // per batch instead of one per reply. A reply's T3 on the wire is read before that call; its
  // true T3 is the kernel's TX stamp, taken when it leaves, so the turnaround stays honest.
  struct PendingReply {
    int rxIndex = 0;
    size_t len = 0;
    uint64_t t2Ns = 0;
    uint64_t t3Ns = 0;
    StampSource rxSource = StampSource::kNone;
    int64_t rxMonoNs = 0;
    ReplySource replyFrom;
  };
  struct ReplyBatch {
    PendingReply pending[kRecvBatch];
    int count = 0;
  };
  // Controller: the probes due at one wake-up, one after another in sendBuf_. When the thread
  // is behind (a late wake-up, slots microseconds apart at many targets) that is a burst, and
  // one system call instead of one per probe. Each probe's send error is counted from the one
  // clock read before the call.
  struct QueuedProbe {
    uint32_t target = 0;
    uint64_t slot = 0;
    uint64_t seq = 0;
    int64_t dueMonoNs = 0;
    int64_t t1RealNs = 0;
    size_t offset = 0;  // in sendBuf_
    size_t len = 0;
  };
  struct ProbeQueue {
    int count = 0;
    size_t used = 0;  // bytes of sendBuf_ taken
    QueuedProbe queued[kRecvBatch];
  };
  // One stamped datagram to send (a probe, or a reply with the source it must leave from).
  struct StampedDatagram {
    const void* buf;
    size_t len;
    const sockaddr* to;
    socklen_t toLen;
    const ReplySource* replyFrom;
  };
  static constexpr size_t kStampedControlBytes = CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(in6_pktinfo));
  // The arrays of one sendmmsg (the controller's probes or the reflector's replies).
  struct StampedBatch {
    mmsghdr msgs[kRecvBatch];
    iovec iovs[kRecvBatch];
    alignas(cmsghdr) char control[kRecvBatch][kStampedControlBytes];
  };
  // Sends `count` (<= kRecvBatch) datagrams `datagramOf(k)` in order, several with one
  // sendmmsg; what that did not send (and a lone one) one at a time through SendWithId. Then
  // `sent(k, sentMonoNs, id)` for each, in order: the clock read before its call, and its
  // stamp id or -1 with errno.
  template <typename DatagramOf, typename Sent>
  void SendStamped(int count, DatagramOf datagramOf, Sent sent);
  void AfterProbeSent(const QueuedProbe& probe, int64_t sentMonoNs, int64_t id);
  // Sends the replies waiting in replies_ (SendStamped), then records each.
  void SendReplies();
  void AfterReply(const PendingReply& reply, int64_t id);
  // The peer's port and address (text in the current batch, Event::textOffset) of a reflected
  // event or a reply. Formatted when it differs from the last one's, stored once a batch: an
  // agent's peer is usually one controller socket, a controller's one target, and inet_ntop
  // per datagram showed in both profiles (vfprintf, 0.7 % of the send thread).
  void AttachPeer(Event& ev, const sockaddr_storage& from);
  // `text` into the current batch's data, for `ev`, which goes into that batch next.
  void AttachText(Event& ev, const char* text, size_t length);
  bool TextIs(const Event& ev, const char* text) const;  // ev's text (in the current batch)
  struct PeerText {
    EndpointKey key{};  // family 0 at first: matches no peer
    uint32_t scopeId = 0;
    uint16_t port = 0;
    char address[64] = {0};
    uint64_t batchSerial = 0;  // the batch that holds its text (0: none)
    uint32_t textOffset = 0;
    uint32_t textLength = 0;
  };
  // Why the reflector does not answer a probe: reason null = answer it; else the reason
  // (counted, coalesced event) and what its refusal reply says (probe-layout.ts).
  struct Refusal {
    const char* reason = nullptr;
    uint16_t code = 0;
    uint64_t detail = 0;
    uint8_t scope = 0;
  };
  Refusal RefusalOf(const uint8_t* buf, size_t len, const sockaddr_storage& from,
                    const ReplySource& to, int64_t rxMonoNs);
  // The guard's key of the address a datagram was sent to (0 when IP_PKTINFO gave none).
  uint64_t LocalKeyOf(const ReplySource& to);
  // The refusal reply, written over the probe in `buf`, within the source's refusal budget.
  void SendRefusal(uint8_t* buf, const sockaddr_storage& from, socklen_t fromLen,
                   const ReplySource& replyFrom, const Refusal& refusal, int64_t rxMonoNs);
  // A session-end: frees the place of its session when genuine and from its holder.
  void EndSession(const uint8_t* buf, size_t len, const sockaddr_storage& from, const ReplySource& to);
  void Refuse(const char* reason);
  // Pushes an event of `kind` with a count, or adds one to the last if it is the same.
  void PushCounted(EventKind kind, const char* reason);
  // sendmsg of a datagram that gets no TX stamp (refusals, session-ends); any thread.
  bool SendUnstamped(const uint8_t* buf, size_t len, const sockaddr* to, socklen_t toLen,
                     const ReplySource* replyFrom);
  // Controller: an ICMP error for a probe to `to` (IP_RECVERR), as a coalesced event of the
  // target it was sent to.
  void ReportUnreachable(const sockaddr_storage& to, const sock_extended_err& err);
  // icmp: an ICMP error (destination unreachable, time exceeded) that quotes one of our echo
  // requests becomes an unreachable event; false when it is not one.
  bool ReportIcmpUnreachable(const uint8_t* message, size_t len);
  // sendmsg with the OPT_ID of this datagram (and, for a reply, the source address it must
  // leave from); falls back to the kernel's own counter when the kernel does not know
  // SCM_TS_OPT_ID (< 6.13). Returns the id used, or -1 with errno set.
  int64_t SendWithId(const void* buf, size_t len, const sockaddr* to, socklen_t toLen,
                     const ReplySource* replyFrom = nullptr);
  // The msghdr of one stamped datagram: its OPT_ID (when the kernel takes it) and reply source.
  void BuildStampedMsg(msghdr* msg, iovec* iov, char (&control)[kStampedControlBytes], uint32_t id,
                       const sockaddr* to, socklen_t toLen, const ReplySource* replyFrom) const;
  // Called right before the probe's sent (reflected) event is pushed.
  void RememberTx(uint32_t id, uint32_t owner, uint64_t seq, uint64_t t2Ns = 0);
  // Writes a TX stamp into its sent/reflected event when that is still in the batch being filled.
  bool FoldTxStamp(const TxRef& ref, StampSource source, int64_t txNs);
  // Kernels < 6.13 (no SCM_TS_OPT_ID) number TX stamps with the socket's own counter, which a
  // send that failed late (a netfilter drop, a full qdisc: the datagram was built, then
  // dropped) has advanced although no stamp will come; every later stamp would then match
  // the wrong probe, or none. After any failed send, the counter is restarted at 0.
  void ResyncTxIds();
  // Between two rounds of the loop: hands out the pending events when kFlushIntervalNs has
  // passed since the last batch, then sleeps in one ppoll on the socket and the wake-up
  // eventfd until the next deadline (absolute, CLOCK_MONOTONIC): spinNs before the next
  // slot, or when the pending events are due (the reflector: up to kFlushRideNs later, when
  // a probe is likely to come first; quiet reads: in the middle of a gap between slots).
  // While a schedule runs and that is at most kFlushIntervalNs away, the socket is not
  // watched: one wake-up per slot, and replies and stamps are read at the next one; in the
  // last spinNs before a slot it spins instead.
  // Returns at once when a slot is already due. Adds what poll found to socketReady_
  // (everything when it did not poll: the socket was not looked at).
  void FlushThenWait();
  // A slot's wake-up came (reads done) at nowNs: its lateness, and the adaptive spin after it.
  void NoteSlotWake(int64_t nowNs);
  // Flushes when events wait and the last batch is config_.batchIntervalNs old; whether it did.
  bool FlushIfDue(int64_t nowNs);
  // Reads the socket (outside a quiet window) and flushes, the batch ending with a kFlushed
  // event for the flush requests taken so far.
  void AnswerFlushes();
  // The reflector answers a flush right after a reply (one sent within kJustRepliedNs of the
  // request or after it), or kFlushRideNs after the request when no probe comes: the
  // JavaScript it wakes (an agent encoding its interval) then runs while no probe is due,
  // not at the phase of the agent's interval timer. Anyone else answers at once.
  bool FlushAnswerDue(int64_t nowNs) const;
  // A skipped slot: extends the target's run of missed slots or starts a new one.
  void CountMissed(size_t target, uint64_t slot, int64_t dueMonoNs);
  // The target's run of missed slots as one event (before its next probe, or a batch).
  void ReportMissedRun(size_t target);
  void ReportMissedRuns();
  // CLOCK_MONOTONIC ns when the pending events are due to JS; -1 when none wait.
  int64_t FlushDueAtNs() const;
  // ppoll on the socket and wakeFd_ until one is ready or wakeAtNs (absolute CLOCK_MONOTONIC;
  // -1: no deadline) has come; consumes a wake-up. Returns the socket's revents. (Waits that
  // need not watch the socket are SleepUntil's.)
  short Poll(int64_t wakeAtNs);
  // Sleeps until wakeAtNs (CLOCK_MONOTONIC) or WakeThread, whichever comes first; the socket
  // is not watched.
  void SleepUntil(int64_t wakeAtNs);
  // Ends the thread's sleep, on the futex or in ppoll (any thread).
  void WakeThread();
  // Whether a slot's wake-up reads the socket (kQuietReadIntervalNs).
  bool QuietReadDue(int64_t nowNs) const;
  // Whether a flush answer may go: with quiet reads, only after a slot's reads that came after
  // the request, so that it holds every reply up to the last slot, as the status line shows.
  bool FlushAnswerReadIn() const { return !quietReads_ || !schedule_ || readSinceFlushAsked_; }
  void Flush();
  bool BatchHalfFull() const { return batch_->events.size() >= kMaxBatch / 2; }
  void ReportError(const std::string& message);
  void Push(Event&& event);
  StampSource PickStamp(const int64_t (&ts)[3], int64_t* ns) const;

  SocketConfig config_;
  int fd_ = -1;
  int wakeFd_ = -1;
  // Bumped by WakeThread; the futex the thread sleeps on where the socket is not watched.
  std::atomic<uint32_t> wakeSeq_{0};
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free,
                "the futex word is the atomic's own storage");
  uint32_t wakeSeqSeen_ = 0;  // the thread's: wakeSeq_ when it last looked at JS's requests
  uint16_t localPort_ = 0;

  pthread_t thread_{};
  bool threadStarted_ = false;
  std::mutex lifecycleMu_;  // serializes StartThread / Shutdown
  bool shutDown_ = false;
  FlushFn flush_;

  // Control from the JS thread to the I/O thread.
  std::mutex controlMu_;
  std::unique_ptr<Schedule> pendingSchedule_;
  bool stopRequested_ = false;
  std::atomic<bool> controlPending_{false};
  std::atomic<uint32_t> flushRequests_{0};
  uint32_t flushAnswers_ = 0;  // requests taken by the thread, answered at the next flush
  std::atomic<bool> scheduleActive_{false};
  std::atomic<bool> closing_{false};

  // Thread startup handshake.
  std::mutex readyMu_;
  std::condition_variable readyCv_;
  bool ready_ = false;
  std::vector<std::string> warnings_;
  std::vector<std::string> openWarnings_;  // from configuring the socket

  // I/O thread state.
  std::unique_ptr<Schedule> schedule_;
  uint64_t slotIndex_ = 0;  // global index: slot k of target t is k·targets + t
  int64_t nextDueMonoNs_ = 0;
  int64_t spinCapNs_ = 0;  // config_.spinNs, spinCapped: at most a tenth of the slot spacing
  int64_t spinNs_ = 0;  // in force: spinCapNs_, with spinAuto the wake-ups' need up to it
  WakeLateness wakeLateness_;
  int64_t slotWakeAtNs_ = -1;  // the wake-up the thread waits for is a slot's, asked for then
  bool quietReads_ = false;  // controller: the schedule's slots are kQuietMinSpacingNs apart or more
  int64_t slotSpacingNs_ = 0;  // the schedule's period / targets
  int64_t lastQuietReadNs_ = INT64_MIN / 2;  // the last slot wake-up that read the socket
  bool sleptUnwatched_ = false;  // the last wait did not watch the socket (SleepUntil)
  bool readSinceFlushAsked_ = true;  // a slot's reads came after the last flush request
  std::vector<uint64_t> nextSeq_;  // per target: next sequence number = probes sent
  // Per target: consecutive missed slots not yet reported, handed out as one kMissed event
  // (a VM paused at a high rate must not turn into one JS event per slot).
  struct MissedRun {
    uint64_t firstSlot = 0;
    int64_t firstDueMonoNs = 0;
    uint64_t count = 0;
  };
  std::vector<MissedRun> missedRuns_;
  bool missedPending_ = false;  // some target has a run not reported yet
  size_t targetsDone_ = 0;        // targets that sent probesPerTarget probes
  // The last schedule's targets as (endpoint, index), sorted (ReportUnreachable); kept after
  // it ends: ICMP errors arrive after the last send.
  std::vector<std::pair<EndpointKey, uint32_t>> targetsByEndpoint_;
  // Targets whose first ICMP error has gone to JS in a batch due at once: a run's first sign
  // that nothing answers is not held back until the batch fills (--quiet: up to 10 s).
  std::vector<uint8_t> unreachableNamed_;
  std::vector<uint16_t> lastIcmpIds_;  // icmp: each target's echo identifier
  std::vector<uint8_t> sendBuf_;
  int64_t groupDelayNs_ = 0;  // how long after a slot is due the thread wakes for its group
  uint64_t batchSerial_ = 1;  // of batch_; a new batch, a new number (0 matches no TxRef)
  uint32_t nextTxId_ = 0;
  // Sent datagrams whose TX stamp has not been read: the error queue is read without a poll
  // that says so (the kernel stamps loopback, TAP and virtio sends inside sendmsg), at the
  // next slot's wake-up with quiet reads, else right after the send.
  uint32_t txAwaited_ = 0;
  short socketReady_ = POLLIN | POLLERR;  // what to read from the socket (poll revents)
  bool useIdCmsg_ = true;
  // The events on their way to JS: the batch being filled, from a pool that the addon gives
  // each delivered batch back to.
  std::shared_ptr<EventBatchPool> batchPool_;
  std::unique_ptr<EventBatch> batch_;
  int64_t errorWindowStartNs_ = 0;
  int64_t lastFlushMonoNs_ = 0;
  // A reflector's flush answer rides on its next reply (FlushAnswerDue): when the thread took
  // the requests still unanswered (-1: none), and when it last sent replies.
  int64_t flushRideFromNs_ = -1;
  int64_t lastReplyMonoNs_ = INT64_MIN;
  // Every datagram that reached the socket before this CLOCK_MONOTONIC time has been read:
  // the start of the last read that found the receive queue empty. Each batch carries it, so
  // that JS declares a probe lost only when its reply cannot be in a batch still to come.
  int64_t readHorizonNs_ = 0;
  uint32_t errorsInWindow_ = 0;
  uint64_t errorsSuppressed_ = 0;
  std::unique_ptr<ProbeGuard> guard_;  // reflector only
  std::unique_ptr<DatagramAuth> auth_;  // --key-file; null without

  std::atomic<uint64_t> statSent_{0}, statMissed_{0}, statReceived_{0}, statReflected_{0},
      statPassedToJs_{0}, statTxStamps_{0}, statSendErrors_{0}, statRecvErrors_{0}, statFiltered_{0}, statRefused_{0},
      statWakeups_{0}, statUnreachable_{0}, statSendCalls_{0}, statReceiveBufferDrops_{0}, statBacklogPauses_{0};
  std::atomic<int64_t> statBacklogPausedNs_{0};
  uint32_t lastDropCounter_ = 0;  // SO_RXQ_OVFL as the last datagram that carried it said
  std::atomic<int64_t> statSpinNs_{0}, statSendGroupNs_{0}, statWakeLateP50Ns_{-1}, statWakeLateP90Ns_{-1};

  // Last, the large buffers: the scalars above, which the thread reads and writes on every
  // wake-up, then share a few cache lines and pages. After a sleep each line and page the
  // thread touches is a miss (on this VM ~0.1-0.3 µs each); spread between these arrays, they
  // cost the send thread microseconds a probe. Part of this object, so the thread's memory
  // lock covers them.
  RecvBatch rx_;
  RecvBatch err_;
  ReplyBatch replies_;
  ProbeQueue probes_;
  StampedBatch stamped_;
  PeerText lastPeer_;
  std::array<TxRef, kTxRingSize> txRing_{};
};

// A kernel (CLOCK_REALTIME) receive stamp on CLOCK_MONOTONIC, given the clocks' offset taken
// at its read, the last instant before it the queue was known empty, and the read: the read
// itself when the stamp, so mapped, falls outside [notBefore, read] (a wall-clock step).
int64_t MonoOfKernelStamp(int64_t stampRealNs, int64_t realMinusMonoNs, int64_t notBeforeMonoNs, int64_t readMonoNs);
// Family, address and port of an endpoint as one comparable value.
EndpointKey EndpointKeyOf(const sockaddr_storage& addr);
// inet_ntop plus "%iface" for scoped IPv6 addresses (as node:dgram prints them).
std::string FormatAddress(const sockaddr_storage& addr, uint16_t* port);
// The same into `out` (empty for another family), without allocating.
void FormatAddressInto(const sockaddr_storage& addr, uint16_t* port, char* out, size_t outSize);
// Parses a numeric address of the given family; throws std::runtime_error.
ScheduleTarget ParseTarget(int family, const std::string& address, uint16_t port);

}  // namespace rtprobe
