#include "probe_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <stdexcept>

// Kernel >= 6.13: pass the OPT_ID of a datagram with sendmsg instead of relying on the
// socket's counter. The glibc headers here predate it.
#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81
#endif
#ifndef SO_TIMESTAMPING_OLD
#define SO_TIMESTAMPING_OLD 37
#endif
#ifndef SO_TIMESTAMPING_NEW
#define SO_TIMESTAMPING_NEW 65
#endif

namespace rtprobe {
namespace {

// Wire layout v1 (shared/wire/probe-layout.ts).
constexpr uint32_t kMagic = 0x52545042;
constexpr size_t kHeaderBytes = 48;
// --size bounds of the wire format (probe-layout.ts PROBE_MIN_BYTES / PROBE_MAX_BYTES).
constexpr size_t kMinProbeBytes = 64;
constexpr size_t kMaxProbeBytes = 1472;
constexpr size_t kOffVersion = 4, kOffType = 5, kOffFlags = 6, kOffSession = 8,
                 kOffLength = 12, kOffReserved = 14, kOffSeq = 16, kOffT1 = 24, kOffT2 = 32,
                 kOffT3 = 40;
constexpr uint8_t kTypeProbe = 1, kTypeReply = 2, kTypeRefusal = 3, kTypeSessionEnd = 4;
constexpr uint16_t kFlagsKnownMask = 0b1'1111;  // stamp sources and AUTH
constexpr size_t kControlBytes = 64;            // refusals and session-ends (CONTROL_BYTES)
// Refusal reason codes (probe-layout.ts REFUSAL_REASONS, index + 1).
constexpr uint16_t kRefuseSessionLimit = 1, kRefuseRateLimited = 2, kRefuseReplay = 3,
                   kRefuseUnauthenticated = 4, kRefuseBadAuth = 5;

// ICMP echo probes (controller/transport/icmp-codec.ts): checksum at 2, 16-bit sequence at 6.
constexpr size_t kIcmpOffChecksum = 2, kIcmpOffSeq16 = 6;
constexpr uint8_t kIcmpEchoReply = 0, kIcmp6EchoReply = 129;
constexpr uint8_t kIcmpDestUnreachable = 3, kIcmpTimeExceeded = 11;
constexpr uint8_t kIcmp6DestUnreachable = 1, kIcmp6TimeExceeded = 3;
constexpr size_t kIpv4MinHeaderBytes = 20;

uint16_t GetU16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
uint32_t GetU32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
uint64_t GetU64(const uint8_t* p) { return (uint64_t(GetU32(p)) << 32) | GetU32(p + 4); }
void PutU16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = uint8_t(v);
    v >>= 8;
  }
}

// A well-formed probe of wire layout v1: what the reflector answers itself.
bool IsWireProbe(const uint8_t* buf, size_t len) {
  return len >= kHeaderBytes && GetU32(buf) == kMagic && buf[kOffVersion] == 1 &&
         buf[kOffType] == kTypeProbe && (GetU16(buf + kOffFlags) & ~kFlagsKnownMask) == 0 &&
         GetU16(buf + kOffLength) == len && len >= kMinProbeBytes && len <= kMaxProbeBytes &&
         GetU16(buf + kOffReserved) == 0;
}

// A well-formed session-end (type 4, 64 bytes, only flag AUTH): frees a session's place.
bool IsWireSessionEnd(const uint8_t* buf, size_t len) {
  return len == kControlBytes && GetU32(buf) == kMagic && buf[kOffVersion] == 1 &&
         buf[kOffType] == kTypeSessionEnd && (GetU16(buf + kOffFlags) & ~kFlagAuth) == 0 &&
         GetU16(buf + kOffLength) == len && GetU16(buf + kOffReserved) == 0;
}

// RFC 1071 Internet checksum (odd length padded with a zero byte).
uint16_t InternetChecksum(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 1 < n; i += 2) sum += (uint32_t(p[i]) << 8) | p[i + 1];
  if (i < n) sum += uint32_t(p[i]) << 8;
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

void SpinUntilMono(int64_t dueMonoNs) {
  while (MonoNowNs() < dueMonoNs) CpuRelax();
}

// "ENODEV (No such device)"
std::string Errno(int err) { return ErrnoName(err) + " (" + strerror(err) + ")"; }

[[noreturn]] void Fail(const std::string& message) { throw std::runtime_error(message); }

// The first 3 timespecs of SCM_TIMESTAMPING: [0] software, [1] legacy, [2] raw hardware.
struct StampTriple {
  int64_t sec;
  int64_t nsec;
};
static_assert(sizeof(timespec) == sizeof(StampTriple), "64-bit timespec expected");

// Parses the SCM_TIMESTAMPING cmsg of msg into ns (0 where the kernel left a stamp empty).
bool ReadStamps(msghdr* msg, int64_t (&ns)[3]) {
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET &&
        (c->cmsg_type == SO_TIMESTAMPING_OLD || c->cmsg_type == SO_TIMESTAMPING_NEW) &&
        c->cmsg_len >= CMSG_LEN(3 * sizeof(StampTriple))) {
      StampTriple ts[3];
      memcpy(ts, CMSG_DATA(c), sizeof ts);
      for (int i = 0; i < 3; ++i) ns[i] = ts[i].sec * 1'000'000'000 + ts[i].nsec;
      return true;
    }
  }
  return false;
}

// Every live socket, so that exit() can stop their threads first (leaked on purpose: no
// static destructor may run before the atexit handler).
std::mutex& RegistryMu() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}
std::set<ProbeSocket*>& Registry() {
  static std::set<ProbeSocket*>* set = new std::set<ProbeSocket*>();
  return *set;
}
void RegisterAtExitOnce() {
  static bool registered = [] {
    atexit(&ProbeSocket::ShutdownAll);
    return true;
  }();
  (void)registered;
}

void SetIntOption(int fd, int level, int name, int value, const std::string& what) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) {
    const int err = errno;
    Fail(what + " failed: " + Errno(err));
  }
}

void BindToDevice(int fd, const std::string& iface) {
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface.c_str(), socklen_t(iface.size())) != 0) {
    const int err = errno;
    Fail("interface '" + iface + "': SO_BINDTODEVICE failed: " + Errno(err) +
         (err == ENODEV ? " — no such interface (see `ip link`)" : ""));
  }
}

// DSCP is the upper 6 bits of the TOS / traffic class byte; ECN bits stay 0.
void SetDscp(int fd, int family, int dscp) {
  const int tos = dscp << 2;
  if (family == 4) {
    SetIntOption(fd, IPPROTO_IP, IP_TOS, tos, "dscp " + std::to_string(dscp) + ": IP_TOS");
  } else {
    SetIntOption(fd, IPPROTO_IPV6, IPV6_TCLASS, tos,
                 "dscp " + std::to_string(dscp) + ": IPV6_TCLASS");
  }
}

void SetPriority(int fd, int prio) {
  if (setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof prio) != 0) {
    const int err = errno;
    Fail("priority " + std::to_string(prio) + ": SO_PRIORITY failed: " + Errno(err) +
         (err == EPERM ? " — priorities above 6 need CAP_NET_ADMIN" : ""));
  }
}

void SetBusyPoll(int fd, int us) {
  if (setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof us) != 0) {
    const int err = errno;
    Fail("busyPollUs " + std::to_string(us) + ": SO_BUSY_POLL failed: " + Errno(err) +
         (err == EPERM ? " — raising it above net.core.busy_read needs CAP_NET_ADMIN" : ""));
  }
}

}  // namespace

EndpointKey EndpointKeyOf(const sockaddr_storage& addr) {
  EndpointKey key{};
  key[0] = uint8_t(addr.ss_family);
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    memcpy(&key[1], &in->sin_addr, sizeof in->sin_addr);
    memcpy(&key[17], &in->sin_port, sizeof in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    memcpy(&key[1], &in6->sin6_addr, sizeof in6->sin6_addr);
    memcpy(&key[17], &in6->sin6_port, sizeof in6->sin6_port);
  }
  return key;
}

int64_t MonoOfKernelStamp(int64_t stampRealNs, int64_t realMinusMonoNs, int64_t notBeforeMonoNs, int64_t readMonoNs) {
  // The clocks' offset at the read holds at the stamp unless the wall clock was stepped in
  // between: then the result falls outside the interval the datagram must have come in, and
  // the read itself is the honest (late) answer. A step smaller than that interval errs by
  // less than the read would.
  const int64_t monoNs = stampRealNs - realMinusMonoNs;
  return monoNs >= notBeforeMonoNs && monoNs <= readMonoNs ? monoNs : readMonoNs;
}

void FormatAddressInto(const sockaddr_storage& addr, uint16_t* port, char* out, size_t outSize) {
  out[0] = '\0';
  *port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, out, socklen_t(outSize));
    *port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, out, socklen_t(outSize));
    *port = ntohs(in6->sin6_port);
    if (in6->sin6_scope_id != 0) {
      char name[IF_NAMESIZE] = {0};
      const size_t used = strlen(out);
      if (if_indextoname(in6->sin6_scope_id, name) != nullptr) {
        snprintf(out + used, outSize - used, "%%%s", name);
      } else {
        snprintf(out + used, outSize - used, "%%%u", unsigned(in6->sin6_scope_id));
      }
    }
  }
}

std::string FormatAddress(const sockaddr_storage& addr, uint16_t* port) {
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {0};
  FormatAddressInto(addr, port, text, sizeof text);
  return text;
}

ScheduleTarget ParseTarget(int family, const std::string& address, uint16_t port) {
  ScheduleTarget target;
  if (family == 4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&target.addr);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    if (inet_pton(AF_INET, address.c_str(), &in->sin_addr) != 1) {
      Fail("invalid IPv4 address '" + address + "'");
    }
    target.addrLen = sizeof(sockaddr_in);
    return target;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&target.addr);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  std::string host = address;
  const size_t percent = host.find('%');
  if (percent != std::string::npos) {
    const std::string scope = host.substr(percent + 1);
    host.resize(percent);
    unsigned index = if_nametoindex(scope.c_str());
    if (index == 0) {
      char* end = nullptr;
      const unsigned long numeric = strtoul(scope.c_str(), &end, 10);
      if (scope.empty() || end == nullptr || *end != '\0') {
        Fail("unknown IPv6 scope '" + scope + "' in '" + address + "'");
      }
      index = unsigned(numeric);
    }
    in6->sin6_scope_id = index;
  }
  if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) {
    Fail("invalid IPv6 address '" + address + "'");
  }
  target.addrLen = sizeof(sockaddr_in6);
  return target;
}

ProbeSocket::ProbeSocket(const SocketConfig& config) : config_(config) {
  ValidateConfig();
  // Before any fd: a key that cannot be used throws with nothing to close yet.
  if (!config_.authKey.empty()) auth_ = std::make_unique<DatagramAuth>(config_.authKey);
  // Raw sockets have no ports (an IPv6 one even rejects any but 0 or its protocol).
  if (config_.icmp) config_.port = 0;
  const ScheduleTarget local = ParseTarget(config_.family, config_.bindAddress, config_.port);

  OpenSocket();
  try {
    ApplySocketOptions();
    EnableTimestamping();
    // Each datagram then says how many the socket has dropped so far for want of buffer room
    // (Linux >= 2.6.33): loss this machine made, told apart from the path's.
    SetIntOption(fd_, SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL");
    BindTo(local);
    wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd_ < 0) Fail("eventfd failed: " + Errno(errno));
  } catch (...) {
    close(fd_);
    if (wakeFd_ >= 0) close(wakeFd_);
    fd_ = wakeFd_ = -1;
    throw;
  }
  PrepareThreadState();

  RegisterAtExitOnce();
  std::lock_guard<std::mutex> lock(RegistryMu());
  Registry().insert(this);
}

void ProbeSocket::ValidateConfig() const {
  if (config_.family != 4 && config_.family != 6) Fail("family must be 4 or 6");
  if (config_.dscp < -1 || config_.dscp > 63) {
    Fail("dscp must be 0..63, got " + std::to_string(config_.dscp));
  }
  if (config_.hardware && config_.iface.empty()) {
    Fail("hardware timestamps need an interface (SIOCSHWTSTAMP is set per interface)");
  }
  if (config_.iface.size() >= IF_NAMESIZE) {
    Fail("interface name '" + config_.iface + "' is longer than " +
         std::to_string(IF_NAMESIZE - 1) + " characters");
  }
  if (config_.icmp && config_.reflector) Fail("ICMP sockets are controller only");
}

void ProbeSocket::OpenSocket() {
  const int af = config_.family == 4 ? AF_INET : AF_INET6;
  if (config_.icmp) {
    const int proto = af == AF_INET ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6);
    fd_ = socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd_ < 0) {
      // EPERM without CAP_NET_RAW: the JS wrapper turns it into the how-to-run message.
      Fail(std::string("socket(") + (af == AF_INET ? "AF_INET, SOCK_RAW, IPPROTO_ICMP" :
                                     "AF_INET6, SOCK_RAW, IPPROTO_ICMPV6") +
           ") failed: " + Errno(errno));
    }
  } else {
    fd_ = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd_ < 0) {
      Fail(std::string("socket(") + (af == AF_INET ? "AF_INET" : "AF_INET6") +
           ", SOCK_DGRAM) failed: " + Errno(errno));
    }
  }
}

void ProbeSocket::ApplySocketOptions() {
  // Room to queue what arrives while the thread sleeps through a burst or a deferred read
  // (replies, and the TX stamps of the error queue, which count against the same budget):
  // the default (rmem_default, ~200 KiB) holds ~200 small datagrams, a quarter of a
  // millisecond at 1000 targets x 100 Hz on both sides. 16 MiB (the kernel's budget: twice
  // that, ~1 KiB a small datagram) rides out ~150 ms of a thread waiting for a CPU there: 4 MiB
  // lost 6-21 % of the replies, 16 MiB 2-4 %, 32 MiB no less. SO_RCVBUFFORCE passes rmem_max with
  // CAP_NET_ADMIN; without it SO_RCVBUF gets what rmem_max allows. Never an error.
  const int rcvbuf = kReceiveBufferBytes;
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    (void)setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  // Raw sockets refuse IPV6_V6ONLY (EINVAL) and never see IPv4 anyway.
  if (config_.family == 6 && !config_.icmp) {
    SetIntOption(fd_, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
  }
  if (!config_.iface.empty()) BindToDevice(fd_, config_.iface);
  if (config_.dscp >= 0) SetDscp(fd_, config_.family, config_.dscp);
  // After IP_TOS: setting IP_TOS overwrites the socket priority.
  if (config_.priority >= 0) SetPriority(fd_, int(config_.priority));
  if (config_.busyPollUs >= 0) SetBusyPoll(fd_, config_.busyPollUs);
  // Controller: ICMP errors for our probes (e.g. port unreachable: no agent on the port) come
  // to the error queue, each with the address it was sent to; without, they vanish and the
  // probes wait out --loss-after as if lost.
  if (!config_.reflector && !config_.icmp) {
    if (config_.family == 4) SetIntOption(fd_, IPPROTO_IP, IP_RECVERR, 1, "IP_RECVERR");
    else SetIntOption(fd_, IPPROTO_IPV6, IPV6_RECVERR, 1, "IPV6_RECVERR");
  }
  if (config_.icmp) KeepOnlyIcmpWeRead();
  // A probe never fragments: two fragments on the wire are another measurement (the second
  // waits for the first, the receiver reassembles), and the default (PMTUDISC_WANT) would
  // fragment a probe larger than the path MTU silently. Too large, its send fails with
  // EMSGSIZE, which says so. (It also spares each send the kernel's global IP ID hash: a DF
  // datagram from an unconnected socket gets ID 0.)
  if (config_.family == 4) SetIntOption(fd_, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO, "IP_MTU_DISCOVER");
  else SetIntOption(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO, "IPV6_MTU_DISCOVER");
  // The reflector answers from the address each probe was sent to (ReplySource).
  if (config_.reflector && !config_.icmp) {
    if (config_.family == 4) SetIntOption(fd_, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
    else SetIntOption(fd_, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
  }
}

void ProbeSocket::KeepOnlyIcmpWeRead() {
  // A raw ICMP socket gets a copy of every ICMP message the host receives: on loopback our own
  // echo requests (one more datagram a probe to queue, stamp and read), anyone's pings to this
  // host, and for ICMPv6 the neighbour discovery of every link. The kernel drops all but echo
  // replies and the errors that can quote our requests (what SelectIcmpReply and
  // ReportIcmpUnreachable take), before they are queued. Without the filter (it cannot fail
  // on Linux) the thread still drops them itself.
  if (config_.family == 4) {
    // <linux/icmp.h> (ICMP_FILTER, struct icmp_filter) clashes with <net/if.h>: its values,
    // from the kernel's ABI. A set bit blocks the type.
    constexpr int kIcmpFilter = 1;
    const uint32_t blocked = ~((1u << kIcmpEchoReply) | (1u << kIcmpDestUnreachable) | (1u << kIcmpTimeExceeded));
    (void)setsockopt(fd_, SOL_RAW, kIcmpFilter, &blocked, sizeof blocked);
  } else {
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(kIcmp6EchoReply, &filter);
    ICMP6_FILTER_SETPASS(kIcmp6DestUnreachable, &filter);
    ICMP6_FILTER_SETPASS(kIcmp6TimeExceeded, &filter);
    (void)setsockopt(fd_, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
  }
}

unsigned ProbeSocket::TimestampingFlags() const {
  unsigned flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE |
                   SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
                   SOF_TIMESTAMPING_OPT_TSONLY;
  if (config_.hardware) {
    flags |= SOF_TIMESTAMPING_RX_HARDWARE | SOF_TIMESTAMPING_TX_HARDWARE |
             SOF_TIMESTAMPING_RAW_HARDWARE;
  }
  return flags;
}

void ProbeSocket::EnableTimestamping() {
  if (config_.hardware) EnableNicTimestamping();
  SetIntOption(fd_, SOL_SOCKET, SO_TIMESTAMPING, int(TimestampingFlags()), "SO_TIMESTAMPING");
  // Makes a pending TX stamp wake poll with POLLPRI, not only POLLERR.
  SetIntOption(fd_, SOL_SOCKET, SO_SELECT_ERR_QUEUE, 1, "SO_SELECT_ERR_QUEUE");
}

void ProbeSocket::EnableNicTimestamping() {
  hwtstamp_config hw{};
  hw.tx_type = HWTSTAMP_TX_ON;
  hw.rx_filter = HWTSTAMP_FILTER_ALL;
  ifreq ifr{};
  memcpy(ifr.ifr_name, config_.iface.c_str(), config_.iface.size());
  ifr.ifr_data = reinterpret_cast<char*>(&hw);
  if (ioctl(fd_, SIOCSHWTSTAMP, &ifr) != 0) {
    const int err = errno;
    Fail("hardware timestamping could not be enabled on interface '" + config_.iface +
         "': SIOCSHWTSTAMP failed: " + Errno(err) + "; `ethtool -T " + config_.iface +
         "` shows what it supports");
  }
  if (hw.rx_filter != HWTSTAMP_FILTER_ALL) {
    // The driver narrowed the filter (often PTP only): our probes get software RX stamps.
    openWarnings_.push_back("interface '" + config_.iface +
                            "' stamps only some received packets in hardware (rx_filter " +
                            std::to_string(hw.rx_filter) +
                            "); RX stamps of other packets are software stamps");
  }
}

void ProbeSocket::BindTo(const ScheduleTarget& local) {
  if (bind(fd_, reinterpret_cast<const sockaddr*>(&local.addr), local.addrLen) != 0) {
    const int err = errno;
    Fail("bind " + config_.bindAddress + " port " + std::to_string(config_.port) +
         " failed: " + Errno(err));
  }
  // Port 0 binds to a port the kernel picks: read back which.
  sockaddr_storage bound{};
  socklen_t boundLen = sizeof bound;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &boundLen) != 0) {
    Fail("getsockname failed: " + Errno(errno));
  }
  FormatAddress(bound, &localPort_);
  if (config_.icmp) localPort_ = 0;  // getsockname reports the protocol there
}

void ProbeSocket::PrepareThreadState() {
  // Test hook: RTPROBE_TX_ID_COUNTER=1 exercises the path of kernels < 6.13, which match TX
  // stamps by the socket's own OPT_ID counter instead of SCM_TS_OPT_ID.
  const char* counterIds = getenv("RTPROBE_TX_ID_COUNTER");
  useIdCmsg_ = counterIds == nullptr || strcmp(counterIds, "1") != 0;

  if (config_.reflector) guard_ = std::make_unique<ProbeGuard>(config_.guard);
  sendBuf_.resize(65536);
  // kMaxBatch events a batch at most (Push flushes then; half full it is due, BatchHalfFull);
  // 64 KiB of replies and texts before a batch's data grows (100 Hz × 100 ms of even the
  // largest probes fits).
  batchPool_ = EventBatchPool::Create(kMaxBatch, 64 << 10);
  batch_ = batchPool_->Take();
}

ProbeSocket::~ProbeSocket() {
  {
    std::lock_guard<std::mutex> lock(RegistryMu());
    Registry().erase(this);
  }
  Shutdown();
}

void ProbeSocket::ShutdownAll() {
  std::lock_guard<std::mutex> lock(RegistryMu());
  for (ProbeSocket* socket : Registry()) socket->Shutdown();
}

std::vector<std::string> ProbeSocket::StartThread(FlushFn flush) {
  std::lock_guard<std::mutex> lifecycle(lifecycleMu_);
  if (shutDown_) Fail("socket is closed");
  if (threadStarted_) Fail("thread already started");
  flush_ = std::move(flush);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  // Small stack: option mlock locks the whole stack in RAM.
  pthread_attr_setstacksize(&attr, 256 * 1024);
  // Signals belong to Node's main thread: the new thread inherits a fully blocked mask.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const int err = pthread_create(&thread_, &attr, &ProbeSocket::ThreadMain, this);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) Fail("pthread_create failed: " + Errno(err));
  threadStarted_ = true;

  std::unique_lock<std::mutex> lock(readyMu_);
  readyCv_.wait(lock, [this] { return ready_; });
  std::vector<std::string> warnings = openWarnings_;
  warnings.insert(warnings.end(), warnings_.begin(), warnings_.end());
  return warnings;
}

void ProbeSocket::StartSchedule(std::unique_ptr<Schedule> schedule) {
  {
    std::lock_guard<std::mutex> lock(controlMu_);
    if (closing_.load()) Fail("socket is closed");
    if (scheduleActive_.load()) Fail("a schedule is already running (stop() it and wait for 'done')");
    pendingSchedule_ = std::move(schedule);
    scheduleActive_.store(true);
    controlPending_.store(true, std::memory_order_release);
  }
  WakeThread();
}

void ProbeSocket::StopSchedule() {
  {
    std::lock_guard<std::mutex> lock(controlMu_);
    if (!scheduleActive_.load()) return;
    stopRequested_ = true;
    controlPending_.store(true, std::memory_order_release);
  }
  WakeThread();
}

void ProbeSocket::RequestFlush() {
  if (closing_.load()) return;
  flushRequests_.fetch_add(1, std::memory_order_acq_rel);
  WakeThread();
}

void ProbeSocket::WakeThread() {
  // Both ways the thread can be asleep: on the futex (SleepUntil) or in ppoll (Poll).
  wakeSeq_.fetch_add(1, std::memory_order_acq_rel);
  (void)syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wakeSeq_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  const uint64_t one = 1;
  (void)!write(wakeFd_, &one, sizeof one);
}

void ProbeSocket::Shutdown() {
  std::lock_guard<std::mutex> lifecycle(lifecycleMu_);
  if (shutDown_) return;
  shutDown_ = true;
  closing_.store(true);
  if (threadStarted_) {
    WakeThread();
    pthread_join(thread_, nullptr);
  }
  if (fd_ >= 0) close(fd_);
  if (wakeFd_ >= 0) close(wakeFd_);
  fd_ = wakeFd_ = -1;
}

SocketStats ProbeSocket::stats() const {
  SocketStats s;
  s.sent = statSent_.load();
  s.missed = statMissed_.load();
  s.received = statReceived_.load();
  s.reflected = statReflected_.load();
  s.passedToJs = statPassedToJs_.load();
  s.txStamps = statTxStamps_.load();
  s.sendErrors = statSendErrors_.load();
  s.recvErrors = statRecvErrors_.load();
  s.filtered = statFiltered_.load();
  s.refused = statRefused_.load();
  s.wakeups = statWakeups_.load();
  s.sendCalls = statSendCalls_.load();
  s.batchesAllocated = batchPool_ ? batchPool_->allocated() : 0;
  s.unreachable = statUnreachable_.load();
  s.spinNs = statSpinNs_.load();
  s.wakeLateP50Ns = statWakeLateP50Ns_.load();
  s.wakeLateP90Ns = statWakeLateP90Ns_.load();
  s.sendGroupNs = statSendGroupNs_.load();
  s.receiveBufferDrops = statReceiveBufferDrops_.load();
  s.backlogPauses = statBacklogPauses_.load();
  s.backlogPausedNs = statBacklogPausedNs_.load();
  return s;
}

void* ProbeSocket::ThreadMain(void* self) {
  static_cast<ProbeSocket*>(self)->Run();
  return nullptr;
}

void ProbeSocket::Run() {
  // Named for top -H, ps -L, taskset -p and chrt -p: the thread a user pins or raises, and the
  // one whose CPU the bench sets beside fping's C loop (at most 15 characters).
  pthread_setname_np(pthread_self(), config_.reflector ? "rtprobe-reflect" : "rtprobe-send");
  // What the thread touches on every datagram: its buffers and this object (TX ring).
  config_.rt.lockRegions = {{this, sizeof *this},
                            {sendBuf_.data(), sendBuf_.size()}};
  std::vector<std::string> warnings = ApplyRtOptions(config_.rt);
  {
    std::lock_guard<std::mutex> lock(readyMu_);
    warnings_ = std::move(warnings);
    ready_ = true;
  }
  readyCv_.notify_all();

  while (!closing_.load(std::memory_order_acquire)) {
    // Before looking at what JS asked for: a request made after this look ends the sleep at once.
    wakeSeqSeen_ = wakeSeq_.load(std::memory_order_acquire);
    if (controlPending_.load(std::memory_order_acquire)) TakeControl();
    if (Backlogged()) {
      WaitOutBacklog();
      continue;
    }
    // Reads come before the send: what arrived since the last slot is read in this slot's
    // wake-up (its spin window), and a woken-early round (a batch to hand out, JS control)
    // inside the quiet window reads nothing.
    if (const int64_t nowNs = MonoNowNs(); !InQuietWindow(nowNs) && QuietReadDue(nowNs)) {
      if (quietReads_) lastQuietReadNs_ = nowNs;
      Drain(/*finishBatches=*/quietReads_);
      readSinceFlushAsked_ = true;
    }
    if (schedule_) {
      SendDue();
      // After the send the window is quiet: the probe's TX stamp and its reply wait for the
      // next slot, which reads until EAGAIN however it gets there (a sleep, or straight into
      // a spin as long as the gap). Without a window (slots close together, a slow rate, the
      // end) read on.
      if (quietReads_) socketReady_ = POLLIN | POLLERR;
      if (!InQuietWindow(MonoNowNs())) Drain();
    }
    if (closing_.load(std::memory_order_acquire)) break;
    if (const uint32_t requests = flushRequests_.exchange(0, std::memory_order_acq_rel); requests > 0) {
      flushAnswers_ += requests;
      readSinceFlushAsked_ = false;
      const int64_t nowNs = MonoNowNs();
      if (flushRideFromNs_ < 0) flushRideFromNs_ = nowNs;
      // While a schedule hands its batches out mid-gap, so is the answer (FlushIfDue): the
      // JavaScript it wakes must not run between a probe and its reply. A reflector's rides
      // on its next reply (FlushAnswerDue).
      if (!FlushesMidGap() && FlushAnswerDue(nowNs)) AnswerFlushes();
    }
    FlushThenWait();
  }
  // Closed mid-schedule: still end it, so that nobody waits for a DoneEvent forever.
  if (schedule_) FinishSchedule();
  Flush();
  UnlockRtMemory(config_.rt);
}

bool ProbeSocket::Backlogged() const {
  // Outstanding counts the batch being filled too.
  return batchPool_->outstanding() > config_.maxBacklogBatches;
}

void ProbeSocket::WaitOutBacklog() {
  const int64_t startNs = MonoNowNs();
  statBacklogPauses_.fetch_add(1, std::memory_order_relaxed);
  // Until JS has caught up half way: resumed at the bound itself, the thread would send a
  // period's slots after each look, read a few of their replies before the next pause, and
  // the socket would overflow with the rest.
  const size_t resumeAt = config_.maxBacklogBatches / 2;
  for (;;) {
    wakeSeqSeen_ = wakeSeq_.load(std::memory_order_acquire);
    if (batchPool_->outstanding() <= resumeAt || closing_.load(std::memory_order_acquire) ||
        controlPending_.load(std::memory_order_acquire)) {
      break;
    }
    if (flushRequests_.load(std::memory_order_relaxed) > 0) {
      // JS waits for this answer (one small batch more than the bound).
      flushAnswers_ += flushRequests_.exchange(0, std::memory_order_acq_rel);
      AnswerFlushes();
    }
    // JS giving batches back does not wake the thread: look again every 10 ms (JS is seconds
    // behind by now) or when JS asks for something.
    SleepUntil(MonoNowNs() + 10'000'000);
  }
  statBacklogPausedNs_.fetch_add(MonoNowNs() - startNs, std::memory_order_relaxed);
}

void ProbeSocket::TakeControl() {
  std::unique_ptr<Schedule> next;
  bool stop = false;
  {
    std::lock_guard<std::mutex> lock(controlMu_);
    controlPending_.store(false);
    next = std::move(pendingSchedule_);
    stop = stopRequested_;
    stopRequested_ = false;
  }
  if (next) {
    schedule_ = std::move(next);
    // Sorted once here, so that an ICMP error finds its targets by binary search: a dead
    // agent behind 1000 targets sends an error per probe, 100 000 a second on loopback.
    targetsByEndpoint_.clear();
    for (size_t target = 0; target < schedule_->targets.size(); ++target) {
      targetsByEndpoint_.emplace_back(EndpointKeyOf(schedule_->targets[target].addr), uint32_t(target));
    }
    std::sort(targetsByEndpoint_.begin(), targetsByEndpoint_.end());
    // Spinning is bought per deadline: with many targets the deadlines are microseconds
    // apart and a fixed spin would make the thread a busy loop that takes a core from the
    // guest it measures. Unless the user asked for the spin, at most a tenth of the time
    // between two slots is spent spinning.
    const int64_t slotSpacingNs =
        schedule_->periodNs / int64_t(std::max<size_t>(1, schedule_->targets.size()));
    spinCapNs_ = config_.spinCapped ? std::min<int64_t>(config_.spinNs, slotSpacingNs / 10) : config_.spinNs;
    // Grouped slots (kSendGroupNs) wake late on purpose: a spin before them buys nothing.
    groupDelayNs_ = slotSpacingNs < kSendGroupNs && schedule_->periodNs >= kSendGroupMinPeriodNs && config_.spinCapped
                        ? kSendGroupNs - slotSpacingNs
                        : 0;
    if (groupDelayNs_ > 0) spinCapNs_ = 0;
    spinNs_ = spinCapNs_;  // an adaptive spin starts at its cap and learns from the wake-ups
    wakeLateness_.Reset();
    slotWakeAtNs_ = -1;
    statWakeLateP50Ns_.store(-1);
    statWakeLateP90Ns_.store(-1);
    quietReads_ = !config_.reflector && slotSpacingNs >= kQuietMinSpacingNs;
    slotSpacingNs_ = slotSpacingNs;
    statSpinNs_.store(spinNs_);
    statSendGroupNs_.store(groupDelayNs_ > 0 ? kSendGroupNs : 0);
    lastIcmpIds_.clear();
    if (config_.icmp) {
      // Each target's echo identifier (controller/transport/icmp-codec.ts, bytes 4-5).
      for (const std::vector<uint8_t>& tpl : schedule_->templates) {
        lastIcmpIds_.push_back(tpl.size() >= 6 ? GetU16(tpl.data() + 4) : 0);
      }
    }
    slotIndex_ = 0;
    nextDueMonoNs_ = schedule_->startMonoNs;
    nextSeq_.assign(schedule_->targets.size(), 0);
    missedRuns_.assign(schedule_->targets.size(), MissedRun{});
    unreachableNamed_.assign(schedule_->targets.size(), 0);
    targetsDone_ = 0;
  }
  if (stop && schedule_) FinishSchedule();
}

void ProbeSocket::CountMissed(size_t target, uint64_t slot, int64_t dueMonoNs) {
  MissedRun& run = missedRuns_[target];
  if (run.count > 0 && slot != run.firstSlot + run.count) ReportMissedRun(target);
  if (run.count == 0) {
    run.firstSlot = slot;
    run.firstDueMonoNs = dueMonoNs;
  }
  ++run.count;
  missedPending_ = true;
}

void ProbeSocket::ReportMissedRun(size_t target) {
  if (target >= missedRuns_.size()) return;
  MissedRun& run = missedRuns_[target];
  if (run.count == 0) return;
  Event missed(EventKind::kMissed);
  missed.target = uint32_t(target);
  missed.slot = run.firstSlot;
  missed.dueMonoNs = run.firstDueMonoNs;
  missed.count = run.count;
  run.count = 0;
  Push(std::move(missed));
}

void ProbeSocket::ReportMissedRuns() {
  if (!missedPending_) return;
  for (size_t target = 0; target < missedRuns_.size(); ++target) ReportMissedRun(target);
  missedPending_ = false;
}

void ProbeSocket::FinishSchedule() {
  ReportMissedRuns();
  schedule_.reset();
  Event done(EventKind::kDone);
  Push(std::move(done));
  Flush();  // the end of sending: JS waits for it
  std::lock_guard<std::mutex> lock(controlMu_);
  scheduleActive_.store(false);
  stopRequested_ = false;
}

void ProbeSocket::SendDue() {
  int64_t nowMonoNs = MonoNowNs();
  while (schedule_ && nextDueMonoNs_ <= nowMonoNs) {
    const size_t targetCount = schedule_->targets.size();
    const size_t target = size_t(slotIndex_ % targetCount);
    const uint64_t slot = slotIndex_ / targetCount;
    const uint64_t limit = schedule_->probesPerTarget;
    if (limit == 0 || nextSeq_[target] < limit) {
      if (nowMonoNs - nextDueMonoNs_ > schedule_->periodNs) {
        // Woke more than a period late: skip rather than burst (coordinated omission).
        CountMissed(target, slot, nextDueMonoNs_);
        statMissed_.fetch_add(1, std::memory_order_relaxed);
      } else {
        ReportMissedRun(target);  // the gap before this probe, in order
        QueueProbe(target, slot, nextDueMonoNs_);
        if (limit != 0 && nextSeq_[target] == limit && ++targetsDone_ == targetCount) {
          SendQueuedProbes();
          FinishSchedule();
          return;
        }
      }
    }
    AdvanceSlot();
    // A --duration schedule ends at the first slot due at or after its end.
    if (schedule_->endMonoNs > 0 && nextDueMonoNs_ >= schedule_->endMonoNs) {
      SendQueuedProbes();
      FinishSchedule();
      return;
    }
    nowMonoNs = MonoNowNs();
  }
  SendQueuedProbes();
}

void ProbeSocket::AdvanceSlot() {
  ++slotIndex_;
  const uint64_t targetCount = schedule_->targets.size();
  const uint64_t k = slotIndex_ / targetCount;
  const uint64_t t = slotIndex_ % targetCount;
  const int64_t periodNs = schedule_->periodNs;
  nextDueMonoNs_ = schedule_->startMonoNs + int64_t(k) * periodNs +
                   int64_t(t) * periodNs / int64_t(targetCount);
}

void ProbeSocket::QueueProbe(size_t target, uint64_t slot, int64_t dueMonoNs) {
  const std::vector<uint8_t>& tpl = schedule_->templates[target];
  if (probes_.count == kRecvBatch || probes_.used + tpl.size() > sendBuf_.size()) SendQueuedProbes();
  uint8_t* buf = sendBuf_.data() + probes_.used;
  memcpy(buf, tpl.data(), tpl.size());
  const uint64_t seq = nextSeq_[target];
  PutU64(buf + schedule_->seqOffset, seq);
  const int64_t t1RealNs = RealNowNs();
  PutU64(buf + schedule_->t1Offset, uint64_t(t1RealNs));
  // Last write before the send: the tag covers seq and T1.
  if (auth_ && tpl.size() >= kMinProbeBytes) auth_->Sign(buf, tpl.size());
  if (config_.icmp) {
    // Last, over the final bytes: ICMP sequence, then the IPv4 checksum (the kernel
    // computes ICMPv6 checksums itself, over a pseudo-header we do not know).
    PutU16(buf + kIcmpOffSeq16, uint16_t(seq));
    if (config_.family == 4) {
      PutU16(buf + kIcmpOffChecksum, 0);
      PutU16(buf + kIcmpOffChecksum, InternetChecksum(buf, tpl.size()));
    }
  }
  // The probe takes its sequence number whether or not its send succeeds.
  nextSeq_[target] = seq + 1;
  probes_.queued[probes_.count++] =
      QueuedProbe{uint32_t(target), slot, seq, dueMonoNs, t1RealNs, probes_.used, tpl.size()};
  probes_.used += tpl.size();
}

template <typename DatagramOf, typename Sent>
void ProbeSocket::SendStamped(int count, DatagramOf datagramOf, Sent sent) {
  if (count == 0) return;
  int batched = 0;  // sent by the sendmmsg
  int64_t sentMonoNs = MonoNowNs();
  if (count > 1) {
    for (int k = 0; k < count; ++k) {
      const StampedDatagram d = datagramOf(k);
      stamped_.iovs[k] = {const_cast<void*>(d.buf), d.len};
      BuildStampedMsg(&stamped_.msgs[k].msg_hdr, &stamped_.iovs[k], stamped_.control[k], nextTxId_ + uint32_t(k),
                      d.to, d.toLen, d.replyFrom);
    }
    // The datagrams leave in order, numbered as SendWithId numbers them (by its cmsg, or by
    // the socket's own counter on kernels without one).
    batched = std::max(0, sendmmsg(fd_, stamped_.msgs, unsigned(count), MSG_DONTWAIT | MSG_NOSIGNAL));
    if (batched > 0) statSendCalls_.fetch_add(1, std::memory_order_relaxed);
  }
  for (int k = 0; k < batched; ++k) {
    ++txAwaited_;
    sent(k, sentMonoNs, int64_t(nextTxId_++));
  }
  // The first one sendmmsg could not send and those after it: one at a time, through
  // SendWithId's retry after another datagram's ICMP error and its old-kernel fallback.
  for (int k = batched; k < count; ++k) {
    const StampedDatagram d = datagramOf(k);
    sentMonoNs = MonoNowNs();
    sent(k, sentMonoNs, SendWithId(d.buf, d.len, d.to, d.toLen, d.replyFrom));
  }
}

void ProbeSocket::SendQueuedProbes() {
  const int count = std::exchange(probes_.count, 0);
  probes_.used = 0;  // the bytes stay as they are until the next QueueProbe, after this call
  SendStamped(
      count,
      [this](int k) {
        const QueuedProbe& p = probes_.queued[k];
        const ScheduleTarget& to = schedule_->targets[p.target];
        return StampedDatagram{sendBuf_.data() + p.offset, p.len, reinterpret_cast<const sockaddr*>(&to.addr),
                               to.addrLen, nullptr};
      },
      [this](int k, int64_t sentMonoNs, int64_t id) { AfterProbeSent(probes_.queued[k], sentMonoNs, id); });
}

void ProbeSocket::AfterProbeSent(const QueuedProbe& probe, int64_t sentMonoNs, int64_t id) {
  if (id < 0) {
    // The slot was due and its probe will not come back: a lost probe, as with the user-space
    // transport (whose send fails after the fact). It keeps its sequence number; no TX stamp
    // will come, and the controller declares it lost after --loss-after.
    const int err = errno;
    statSendErrors_.fetch_add(1, std::memory_order_relaxed);
    uint16_t port = 0;
    const std::string address = FormatAddress(schedule_->targets[probe.target].addr, &port);
    const std::string why = err == EMSGSIZE ? " (larger than the path MTU: probes never fragment; a smaller --size fits)" : "";
    ReportError("sendto " + address + " port " + std::to_string(port) + " failed: " +
                Errno(err) + why + "; the probe (seq " + std::to_string(probe.seq) + " of target " +
                std::to_string(probe.target) + ") counts as lost");
    if (!useIdCmsg_) ResyncTxIds();
  } else {
    RememberTx(uint32_t(id), probe.target, probe.seq);
  }
  statSent_.fetch_add(1, std::memory_order_relaxed);
  Event sent(EventKind::kSent);
  sent.target = probe.target;
  sent.seq = probe.seq;
  sent.slot = probe.slot;
  sent.dueMonoNs = probe.dueMonoNs;
  sent.sentMonoNs = sentMonoNs;
  sent.t1RealNs = probe.t1RealNs;
  Push(std::move(sent));
}

size_t ProbeSocket::WriteSourceCmsg(cmsghdr* c, const ReplySource& from) const {
  if (config_.family == 4) {
    in_pktinfo info{};
    info.ipi_spec_dst = from.v4.ipi_addr;  // the source address; the route picks the interface
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    memcpy(CMSG_DATA(c), &info, sizeof info);
    return CMSG_SPACE(sizeof info);
  }
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof from.v6);
  memcpy(CMSG_DATA(c), &from.v6, sizeof from.v6);
  return CMSG_SPACE(sizeof from.v6);
}

void ProbeSocket::BuildStampedMsg(msghdr* msg, iovec* iov, char (&control)[kStampedControlBytes],
                                  uint32_t id, const sockaddr* to, socklen_t toLen,
                                  const ReplySource* replyFrom) const {
  *msg = msghdr{};
  msg->msg_name = const_cast<sockaddr*>(to);
  msg->msg_namelen = toLen;
  msg->msg_iov = iov;
  msg->msg_iovlen = 1;
  const bool withSource = replyFrom != nullptr && replyFrom->valid;
  if (!useIdCmsg_ && !withSource) return;
  memset(control, 0, sizeof control);
  msg->msg_control = control;
  msg->msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(msg);
  size_t used = 0;
  if (useIdCmsg_) {
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_TS_OPT_ID;
    c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
    memcpy(CMSG_DATA(c), &id, sizeof(uint32_t));
    used += CMSG_SPACE(sizeof(uint32_t));
    c = CMSG_NXTHDR(msg, c);
  }
  if (withSource) used += WriteSourceCmsg(c, *replyFrom);
  msg->msg_controllen = used;
}

int64_t ProbeSocket::SendWithId(const void* buf, size_t len, const sockaddr* to,
                                socklen_t toLen, const ReplySource* replyFrom) {
  iovec iov{const_cast<void*>(buf), len};
  alignas(cmsghdr) char control[kStampedControlBytes];
  bool retriedAfterIcmp = false;
  for (;;) {
    msghdr msg;
    BuildStampedMsg(&msg, &iov, control, nextTxId_, to, toLen, replyFrom);
    const ssize_t n = sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      ++txAwaited_;
      statSendCalls_.fetch_add(1, std::memory_order_relaxed);
      return int64_t(nextTxId_++);
    }
    if (errno == EINVAL && useIdCmsg_) {
      // Kernel < 6.13 rejects the cmsg: use the socket's counter, which counts sent
      // datagrams from 0 like nextTxId_ (a rejected sendmsg does not advance it).
      useIdCmsg_ = false;
      continue;
    }
    if (errno == EINTR) continue;
    if ((errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) &&
        !retriedAfterIcmp) {
      // With IP_RECVERR an ICMP error for an earlier datagram (another target's closed port)
      // is also the socket's pending error, which fails the next send once and is cleared by
      // it: this datagram was never tried. Once more; a failure of its own fails again.
      retriedAfterIcmp = true;
      if (!useIdCmsg_) ResyncTxIds();
      continue;
    }
    return -1;
  }
}

void ProbeSocket::ResyncTxIds() {
  // Stamps already queued still carry the old numbers: match them first, until the kernel
  // says the queue is empty (not just until a short batch).
  do {
    err_.drained = false;
  } while (ReadErrQueue());
  // Turning OPT_ID off and on again restarts the socket's counter at 0.
  const int withoutId = int(TimestampingFlags() & ~unsigned(SOF_TIMESTAMPING_OPT_ID));
  const int withId = int(TimestampingFlags());
  if (setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPING, &withoutId, sizeof withoutId) != 0 ||
      setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPING, &withId, sizeof withId) != 0) {
    ReportError("SO_TIMESTAMPING (restarting the TX stamp counter) failed: " + Errno(errno));
    return;
  }
  nextTxId_ = 0;
  for (TxRef& ref : txRing_) ref.used = false;
  txAwaited_ = 0;
}

void ProbeSocket::RememberTx(uint32_t id, uint32_t owner, uint64_t seq, uint64_t t2Ns) {
  TxRef& ref = txRing_[id % kTxRingSize];
  ref.t2Ns = t2Ns;
  ref.id = id;
  ref.used = true;
  ref.owner = owner;
  ref.seq = seq;
  ref.batchSerial = batchSerial_;
  ref.eventIndex = uint32_t(batch_->events.size());
}

bool ProbeSocket::FoldTxStamp(const TxRef& ref, StampSource source, int64_t txNs) {
  // One record per probe instead of two: the stamp usually comes before the batch leaves,
  // and every record is JavaScript work on the other side.
  if (ref.batchSerial != batchSerial_ || ref.eventIndex >= batch_->events.size()) return false;
  Event& ev = batch_->events[ref.eventIndex];
  const bool same = config_.reflector ? ev.kind == EventKind::kReflected && ev.session == ref.owner
                                      : ev.kind == EventKind::kSent && ev.target == ref.owner;
  if (!same || ev.seq != ref.seq || ev.count != 0) return false;
  ev.stampNs = txNs;
  ev.count = uint64_t(source);
  return true;
}

StampSource ProbeSocket::PickStamp(const int64_t (&ts)[3], int64_t* ns) const {
  if (config_.hardware && ts[2] != 0) {
    *ns = ts[2];
    return StampSource::kHardware;
  }
  if (ts[0] != 0) {
    *ns = ts[0];
    return StampSource::kKernel;
  }
  return StampSource::kNone;
}

bool ProbeSocket::FlushesMidGap() const {
  // A --spin as long as the slot spacing leaves no quiet window to hand a batch out in.
  return schedule_ && quietReads_ && slotSpacingNs_ <= kFlushIntervalNs && spinNs_ < slotSpacingNs_;
}

int64_t ProbeSocket::GapMiddleNs() const {
  // The middle of the quiet window: from the last slot to the next slot's wake-up (its spin).
  return nextDueMonoNs_ - (slotSpacingNs_ + spinNs_) / 2;
}

bool ProbeSocket::InQuietWindow(int64_t nowNs) const {
  if (!schedule_ || !quietReads_) return false;
  const int64_t slotWakeNs = nextDueMonoNs_ - spinNs_;
  // Beyond kFlushIntervalNs (a slow rate) the socket is watched, so that events still reach
  // JS within one batch interval.
  return nowNs < slotWakeNs && slotWakeNs - nowNs <= kFlushIntervalNs;
}

void ProbeSocket::Drain(bool finishBatches, int64_t untilNs) {
  for (;;) {
    // Stamps of what was just sent are read until they are all in, without a read that
    // finds the queue empty; what poll flagged is read until EAGAIN.
    const bool readData = (socketReady_ & POLLIN) != 0;
    const bool readErr = (socketReady_ & (POLLERR | POLLPRI)) != 0 || txAwaited_ > 0;
    if (!readData && !readErr) return;
    if (config_.reflector) {
      // Reflector: answer first, collect send stamps second: those of a whole batch of
      // answers in one read, once the batch is answered.
      if (readData) {
        // The whole receive batch, then its replies in one system call.
        bool more = ReadDatagram();
        while (more && rx_.next < rx_.count) more = ReadDatagram();
        SendReplies();
        if (!more) socketReady_ &= short(~POLLIN);
      }
      if (readErr && rx_.next == rx_.count) {
        while (ReadErrQueue()) {
        }
        socketReady_ &= short(~(POLLERR | POLLPRI));
      }
    } else {
      if (readErr && !ReadErrQueue()) socketReady_ &= short(~(POLLERR | POLLPRI));
      if (readData && !ReadDatagram()) socketReady_ &= short(~POLLIN);
    }
    if (closing_.load(std::memory_order_relaxed)) return;
    // A read never delays a due send (grouped slots: their group); what is left is read after
    // it (or, finishing batches, what is still to read from the socket: the messages a batch
    // holds cost no system call).
    if (schedule_ && MonoNowNs() >= SendAtNs() && !(finishBatches && HasBufferedMessages())) return;
    if (controlPending_.load(std::memory_order_relaxed)) return;
    // A flush asked for is answered between reads, not after a flood ends.
    if (flushRequests_.load(std::memory_order_relaxed) > 0) return;
    if (untilNs >= 0 && MonoNowNs() >= untilNs) return;
    if (batch_->events.size() >= kMaxBatch) Flush();
  }
}

int ProbeSocket::FillBatch(RecvBatch* b, int flags) {
  if (b == &rx_) SendReplies();  // their datagrams live in rx_: out before it is overwritten
  for (int i = 0; i < kRecvBatch; ++i) {
    b->iovs[i] = {b->data[i], kRecvSlotBytes};
    msghdr& m = b->msgs[i].msg_hdr;
    m.msg_name = &b->names[i];
    m.msg_namelen = sizeof b->names[i];
    m.msg_iov = &b->iovs[i];
    m.msg_iovlen = 1;
    m.msg_control = b->control[i];
    m.msg_controllen = sizeof b->control[i];
    m.msg_flags = 0;
  }
  const int64_t startNs = b == &rx_ ? MonoNowNs() : 0;
  const int got = recvmmsg(fd_, b->msgs, kRecvBatch, flags | MSG_DONTWAIT, nullptr);
  b->monoNs = MonoNowNs();
  if (b == &rx_) {
    b->realMinusMonoNs = RealMinusMonoNs();
    b->notBeforeMonoNs = readHorizonNs_;
  }
  // Fewer than asked for (or EAGAIN): the receive queue held nothing more when the call began.
  if (b == &rx_ && (got >= 0 ? got < kRecvBatch : errno == EAGAIN || errno == EWOULDBLOCK)) readHorizonNs_ = startNs;
  b->next = 0;
  b->count = got < 0 ? 0 : got;
  if (flags == 0) CountReceiveBufferDrops(*b);
  // Fewer than asked for: the queue was empty at that moment. The next read would say
  // EAGAIN, so it is skipped: a poll on the socket or the next slot looks again.
  b->drained = got >= 0 && got < kRecvBatch;
  return got;
}

void ProbeSocket::CountReceiveBufferDrops(const RecvBatch& b) {
  // The newest counter is on the last datagram that carries one (none does before a drop).
  for (int i = b.count - 1; i >= 0; --i) {
    const msghdr& m = b.msgs[i].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL || c->cmsg_len < CMSG_LEN(sizeof(uint32_t))) continue;
      uint32_t drops = 0;
      memcpy(&drops, CMSG_DATA(c), sizeof drops);
      // A 32-bit counter of the socket's life: add what it moved since (mod 2^32).
      statReceiveBufferDrops_.fetch_add(uint32_t(drops - lastDropCounter_), std::memory_order_relaxed);
      lastDropCounter_ = drops;
      return;
    }
  }
}

int ProbeSocket::NextInBatch(RecvBatch* b, int flags) {
  if (b->next == b->count) {
    if (b->drained) {
      // The last read found the queue empty: no second read to learn it again.
      b->drained = false;
      errno = EAGAIN;
      return -1;
    }
    const int got = FillBatch(b, flags);
    if (got <= 0) {
      if (got == 0) errno = EAGAIN;
      return -1;
    }
  }
  return b->next++;
}

void ProbeSocket::ForgetDrained() {
  // "The queue was empty" held when it was read, not after a sleep: the next read asks the
  // socket. (Kept over a sleep, it turned the first read of the next round into a skipped
  // one, and a quiet read due every 50 ms into one every 100 ms.)
  rx_.drained = false;
  err_.drained = false;
}

bool ProbeSocket::HasBufferedMessages() const {
  return rx_.next < rx_.count || err_.next < err_.count;
}

bool ProbeSocket::ReadErrQueue() {
  const int i = NextInBatch(&err_, MSG_ERRQUEUE);
  if (i < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      txAwaited_ = 0;  // a stamp still to come (NIC completion) wakes poll with POLLERR
      return false;
    }
    if (errno == EINTR) return true;
    statRecvErrors_.fetch_add(1, std::memory_order_relaxed);
    ReportError("recvmmsg(MSG_ERRQUEUE) failed: " + Errno(errno));
    return false;
  }
  msghdr& msg = err_.msgs[i].msg_hdr;
  const sockaddr_storage& to = err_.names[i];  // for an ICMP error: where the datagram it answers was sent
  int64_t ts[3] = {0, 0, 0};
  const bool haveStamps = ReadStamps(&msg, ts);
  sock_extended_err err{};
  bool haveErr = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
        (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
      memcpy(&err, CMSG_DATA(c), sizeof err);
      haveErr = true;
    }
  }
  if (haveErr && (err.ee_origin == SO_EE_ORIGIN_ICMP || err.ee_origin == SO_EE_ORIGIN_ICMP6)) {
    ReportUnreachable(to, err);
    return true;
  }
  // Anything else but a send stamp is consumed and ignored.
  if (!haveStamps || !haveErr || err.ee_errno != ENOMSG ||
      err.ee_origin != SO_EE_ORIGIN_TIMESTAMPING || err.ee_info != SCM_TSTAMP_SND) {
    return true;
  }
  int64_t txNs = 0;
  const StampSource source = PickStamp(ts, &txNs);
  if (source == StampSource::kNone) return true;
  const uint32_t id = err.ee_data;
  TxRef& ref = txRing_[id % kTxRingSize];
  if (!ref.used || ref.id != id) return true;  // overwritten: more in flight than the ring
  ref.used = false;
  if (txAwaited_ > 0) --txAwaited_;
  statTxStamps_.fetch_add(1, std::memory_order_relaxed);
  if (FoldTxStamp(ref, source, txNs)) return true;
  Event tx(config_.reflector ? EventKind::kReflectTx : EventKind::kTx);
  tx.source = source;
  tx.stampNs = txNs;
  tx.seq = ref.seq;
  if (config_.reflector) {
    tx.session = ref.owner;
    tx.t2Ns = ref.t2Ns;  // the turnaround pairs here, not in a JS map keyed per probe
  } else {
    tx.target = ref.owner;
  }
  Push(std::move(tx));
  return true;
}

bool ProbeSocket::ReadDatagram() {
  const int i = NextInBatch(&rx_, 0);
  if (i < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    // EINTR, or a pending socket error (e.g. ECONNREFUSED) that this read just cleared.
    if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
        errno == ENETUNREACH) {
      return true;
    }
    statRecvErrors_.fetch_add(1, std::memory_order_relaxed);
    ReportError("recvmmsg failed: " + Errno(errno));
    return false;
  }
  msghdr& msg = rx_.msgs[i].msg_hdr;
  const sockaddr_storage& from = rx_.names[i];
  statReceived_.fetch_add(1, std::memory_order_relaxed);
  const size_t len = rx_.msgs[i].msg_len;
  int64_t ts[3] = {0, 0, 0};
  ReadStamps(&msg, ts);
  int64_t rxNs = 0;
  StampSource source = PickStamp(ts, &rxNs);
  // One monotonic read per batch, after every datagram of it had arrived: the reflector's
  // and the guard's clock.
  const int64_t rxMonoNs = rx_.monoNs;
  // What JS gets as a datagram's reception on the monotonic clock (the RTT when a wall-clock
  // step spoils the kernel stamps' difference, or a TX stamp is missing): the kernel stamp
  // brought over, not the read, which the quiet window puts up to kQuietReadIntervalNs later.
  const int64_t receivedMonoNs = source == StampSource::kKernel
                                     ? MonoOfKernelStamp(rxNs, rx_.realMinusMonoNs, rx_.notBeforeMonoNs, rxMonoNs)
                                     : rxMonoNs;

  uint8_t* buf = rx_.data[i];
  if (config_.icmp) {
    const uint8_t* message = buf;
    size_t messageLen = len;
    if (!SelectIcmpReply(&message, &messageLen)) {
      if (!ReportIcmpUnreachable(message, messageLen)) {
        statFiltered_.fetch_add(1, std::memory_order_relaxed);
      }
      return true;
    }
    PushRx(message, messageLen, from, rxNs, source, receivedMonoNs, /*portless=*/true);
    return true;
  }
  if (config_.reflector && IsWireProbe(buf, len)) {
    Reflect(i, len, ReplySourceOf(&msg), rxNs, source, rxMonoNs);
    return true;
  }
  SendReplies();  // the replies before this datagram's event: events in the order datagrams came
  if (config_.reflector && IsWireSessionEnd(buf, len)) {
    EndSession(buf, len, from, ReplySourceOf(&msg));
    return true;
  }
  if (config_.reflector) statPassedToJs_.fetch_add(1, std::memory_order_relaxed);
  // --key-file: the controller checks a reply's tag here, with the key it signs probes with
  // (keyed once), instead of JavaScript keying an HMAC per datagram. The verdict rides in the
  // event (events.h); shorter datagrams are malformed and JS rejects them before any tag.
  uint64_t authVerdict = 0;
  if (!config_.reflector && auth_ && len >= kMinProbeBytes) authVerdict = 1 + uint64_t(auth_->Check(buf, len));
  PushRx(buf, len, from, rxNs, source, receivedMonoNs, /*portless=*/false, authVerdict);
  return true;
}

void ProbeSocket::PushRx(const uint8_t* data, size_t len, const sockaddr_storage& from, int64_t rxNs,
                         StampSource source, int64_t rxMonoNs, bool portless, uint64_t authVerdict) {
  if (source == StampSource::kNone) {
    // No kernel stamp: fall back to the user-space CLOCK_MONOTONIC read. The read is then
    // the measurement, so it must come at once: no more reads deferred to the quiet cadence.
    source = StampSource::kUser;
    rxNs = rxMonoNs;
    quietReads_ = false;
  }
  Event rx(EventKind::kRx);
  rx.source = source;
  rx.stampNs = rxNs;
  rx.rxMonoNs = rxMonoNs;
  rx.readMonoNs = rx_.monoNs;
  rx.count = authVerdict;
  AttachPeer(rx, from);
  if (portless) rx.port = 0;  // ICMP has no ports
  std::vector<uint8_t>& arena = batch_->data;
  rx.dataOffset = uint32_t(arena.size());
  rx.dataLength = uint32_t(len);
  arena.insert(arena.end(), data, data + len);
  Push(std::move(rx));
}

bool ProbeSocket::ReportIcmpUnreachable(const uint8_t* p, size_t n) {
  // An ICMP error quotes the datagram it answers: the IP header, then the first 8 bytes of
  // our echo request (type, code, checksum, identifier, sequence).
  constexpr size_t kIcmpHeaderBytes = 8, kIpv6HeaderBytes = 40;
  sock_extended_err err{};
  sockaddr_storage to{};
  const uint8_t* request = nullptr;
  if (config_.family == 4) {
    if (n < kIcmpHeaderBytes + kIpv4MinHeaderBytes + 8 || (p[0] != kIcmpDestUnreachable && p[0] != kIcmpTimeExceeded)) return false;
    const uint8_t* inner = p + kIcmpHeaderBytes;
    const size_t innerHeader = size_t(inner[0] & 0x0f) * 4;
    if ((inner[0] >> 4) != 4 || inner[9] != IPPROTO_ICMP || innerHeader < kIpv4MinHeaderBytes ||
        n < kIcmpHeaderBytes + innerHeader + 8) {
      return false;
    }
    request = inner + innerHeader;
    if (request[0] != 8) return false;  // not an echo request
    auto* in = reinterpret_cast<sockaddr_in*>(&to);
    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, inner + 16, 4);
    err.ee_origin = SO_EE_ORIGIN_ICMP;
  } else {
    if (n < kIcmpHeaderBytes + kIpv6HeaderBytes + 8 || (p[0] != kIcmp6DestUnreachable && p[0] != kIcmp6TimeExceeded)) return false;
    const uint8_t* inner = p + kIcmpHeaderBytes;
    if ((inner[0] >> 4) != 6 || inner[6] != IPPROTO_ICMPV6) return false;  // no extension headers
    request = inner + kIpv6HeaderBytes;
    if (request[0] != 128) return false;  // not an echo request
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&to);
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, inner + 24, 16);
    err.ee_origin = SO_EE_ORIGIN_ICMP6;
  }
  err.ee_type = p[0];
  err.ee_code = p[1];
  // Someone else's ping to the same host is not ours: the identifier says whose it was.
  const uint16_t id = GetU16(request + 4);
  if (std::find(lastIcmpIds_.begin(), lastIcmpIds_.end(), id) == lastIcmpIds_.end()) return false;
  ReportUnreachable(to, err);
  return true;
}

bool ProbeSocket::SelectIcmpReply(const uint8_t** data, size_t* len) const {
  const uint8_t* p = *data;
  size_t n = *len;
  if (config_.family == 4) {
    // Raw IPv4 sockets deliver the IP header (with options): skip it.
    if (n < kIpv4MinHeaderBytes || (p[0] >> 4) != 4) return false;
    const size_t headerLen = size_t(p[0] & 0x0f) * 4;
    const size_t totalLen = GetU16(p + 2);
    if (headerLen < kIpv4MinHeaderBytes || totalLen < headerLen || totalLen > n) return false;
    p += headerLen;
    n = totalLen - headerLen;
  }
  // Only echo replies go to JS: on loopback we read our own requests too, and a raw socket
  // sees every ICMP message of the host. A message too short to have a type goes to JS,
  // which classifies it as 'short'.
  // The ICMP message, even when it is not for JS: an error among them may quote our request.
  *data = p;
  *len = n;
  const uint8_t replyType = config_.family == 4 ? kIcmpEchoReply : kIcmp6EchoReply;
  return n < 1 || p[0] == replyType;
}

ProbeSocket::ReplySource ProbeSocket::ReplySourceOf(msghdr* msg) {
  ReplySource source;
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof source.v4)) {
      memcpy(&source.v4, CMSG_DATA(c), sizeof source.v4);
      source.valid = true;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof source.v6)) {
      memcpy(&source.v6, CMSG_DATA(c), sizeof source.v6);
      source.valid = true;
    }
  }
  return source;
}

void ProbeSocket::Reflect(int rxIndex, size_t len, const ReplySource& replyFrom, int64_t rxNs,
                          StampSource rxSource, int64_t rxMonoNs) {
  uint8_t* buf = rx_.data[rxIndex];
  const sockaddr_storage& from = rx_.names[rxIndex];
  const Refusal refusal = RefusalOf(buf, len, from, replyFrom, rxMonoNs);
  if (refusal.reason != nullptr) {
    SendReplies();  // events in the order the datagrams came
    Refuse(refusal.reason);
    SendRefusal(buf, from, rx_.msgs[rxIndex].msg_hdr.msg_namelen, replyFrom, refusal, rxMonoNs);
    return;
  }
  uint64_t t2Ns = uint64_t(rxNs);
  if (rxSource == StampSource::kNone) {
    rxSource = StampSource::kUser;  // wire T2/T3 are CLOCK_REALTIME ns
    t2Ns = uint64_t(RealNowNs());
  }
  buf[kOffType] = kTypeReply;
  PutU16(buf + kOffFlags, uint16_t(uint16_t(rxSource) | (uint16_t(StampSource::kUser) << 2)));
  PutU64(buf + kOffT2, t2Ns);
  const uint64_t t3Ns = uint64_t(RealNowNs());
  PutU64(buf + kOffT3, t3Ns);
  if (auth_) auth_->Sign(buf, len);
  replies_.pending[replies_.count++] = PendingReply{rxIndex, len, t2Ns, t3Ns, rxSource, rxMonoNs, replyFrom};
}

void ProbeSocket::SendReplies() {
  const int count = std::exchange(replies_.count, 0);
  SendStamped(
      count,
      [this](int k) {
        const PendingReply& r = replies_.pending[k];
        return StampedDatagram{rx_.data[r.rxIndex], r.len, reinterpret_cast<const sockaddr*>(&rx_.names[r.rxIndex]),
                               rx_.msgs[r.rxIndex].msg_hdr.msg_namelen, &r.replyFrom};
      },
      // Everything in AfterReply runs after its reply has left.
      [this](int k, int64_t sentMonoNs, int64_t id) {
        lastReplyMonoNs_ = sentMonoNs;
        AfterReply(replies_.pending[k], id);
      });
}

void ProbeSocket::AfterReply(const PendingReply& reply, int64_t id) {
  const uint8_t* buf = rx_.data[reply.rxIndex];
  const sockaddr_storage& from = rx_.names[reply.rxIndex];
  const uint32_t session = GetU32(buf + kOffSession);
  const uint64_t seq = GetU64(buf + kOffSeq);
  if (id < 0) {
    const int err = errno;
    statSendErrors_.fetch_add(1, std::memory_order_relaxed);
    uint16_t port = 0;
    ReportError("reply to " + FormatAddress(from, &port) + " port " + std::to_string(port) + " failed: " +
                Errno(err));
    if (!useIdCmsg_) ResyncTxIds();
    return;
  }
  RememberTx(uint32_t(id), session, seq, reply.t2Ns);
  statReflected_.fetch_add(1, std::memory_order_relaxed);
  Event ev(EventKind::kReflected);
  ev.source = reply.rxSource;
  AttachPeer(ev, from);
  ev.session = session;
  ev.seq = seq;
  ev.t1Ns = GetU64(buf + kOffT1);
  ev.t2Ns = reply.t2Ns;
  ev.t3Ns = reply.t3Ns;
  ev.rxMonoNs = reply.rxMonoNs;
  Push(std::move(ev));
}

void ProbeSocket::AttachPeer(Event& ev, const sockaddr_storage& from) {
  const EndpointKey key = EndpointKeyOf(from);
  // The key has no IPv6 scope, which the text carries ("%iface").
  const uint32_t scopeId = from.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&from)->sin6_scope_id : 0;
  if (lastPeer_.key != key || lastPeer_.scopeId != scopeId) {
    FormatAddressInto(from, &lastPeer_.port, lastPeer_.address, sizeof lastPeer_.address);
    lastPeer_.key = key;
    lastPeer_.scopeId = scopeId;
    lastPeer_.batchSerial = 0;
  }
  ev.port = lastPeer_.port;
  if (lastPeer_.batchSerial != batchSerial_) {
    AttachText(ev, lastPeer_.address, strnlen(lastPeer_.address, sizeof lastPeer_.address));
    lastPeer_.batchSerial = batchSerial_;
    lastPeer_.textOffset = ev.textOffset;
    lastPeer_.textLength = ev.textLength;
    return;
  }
  ev.textOffset = lastPeer_.textOffset;
  ev.textLength = lastPeer_.textLength;
}

void ProbeSocket::AttachText(Event& ev, const char* text, size_t length) {
  std::vector<uint8_t>& arena = batch_->data;
  ev.textOffset = uint32_t(arena.size());
  ev.textLength = uint32_t(length);
  arena.insert(arena.end(), text, text + length);
}

bool ProbeSocket::TextIs(const Event& ev, const char* text) const {
  const size_t length = strlen(text);
  return ev.textLength == length && memcmp(batch_->data.data() + ev.textOffset, text, length) == 0;
}

uint64_t ProbeSocket::LocalKeyOf(const ReplySource& to) {
  if (!to.valid) return 0;
  uint64_t hi = 0, lo = 0;
  if (config_.family == 4) return to.v4.ipi_addr.s_addr;
  memcpy(&hi, to.v6.ipi6_addr.s6_addr, 8);
  memcpy(&lo, to.v6.ipi6_addr.s6_addr + 8, 8);
  return hi * 0x9e3779b97f4a7c15ULL ^ lo;
}

ProbeSocket::Refusal ProbeSocket::RefusalOf(const uint8_t* buf, size_t len,
                                            const sockaddr_storage& from, const ReplySource& to,
                                            int64_t rxMonoNs) {
  // Forged probes are refused before they can touch a session's state.
  if (auth_) {
    switch (auth_->Check(buf, len)) {
      case AuthCheck::kUnauthenticated: return {"unauthenticated", kRefuseUnauthenticated, 0, 0};
      case AuthCheck::kBadAuth: return {"bad-auth", kRefuseBadAuth, 0, 0};
      case AuthCheck::kGenuine: break;
    }
  }
  const GuardDecision d = guard_->Admit(from, LocalKeyOf(to), GetU32(buf + kOffSession),
                                       GetU64(buf + kOffSeq), rxMonoNs);
  switch (d.verdict) {
    case GuardVerdict::kReplay: return {"replay", kRefuseReplay, 0, 0};
    case GuardVerdict::kRateLimited: return {"rate-limited", kRefuseRateLimited, d.detail, 0};
    case GuardVerdict::kSessionLimit: return {"session-limit", kRefuseSessionLimit, d.detail, d.scope};
    case GuardVerdict::kAnswer: break;
  }
  return {};
}

void ProbeSocket::SendRefusal(uint8_t* buf, const sockaddr_storage& from, socklen_t fromLen,
                              const ReplySource& replyFrom, const Refusal& refusal,
                              int64_t rxMonoNs) {
  if (!guard_->RefusalAllowed(from, refusal.code == kRefuseRateLimited, rxMonoNs)) return;
  // In place: the probe's first 64 bytes (it has at least 64) become the refusal.
  buf[kOffType] = kTypeRefusal;
  PutU16(buf + kOffFlags, 0);
  PutU16(buf + kOffLength, uint16_t(kControlBytes));
  PutU16(buf + kOffReserved, refusal.code);
  PutU64(buf + kOffT2, refusal.detail);
  PutU64(buf + kOffT3, refusal.scope);
  memset(buf + kHeaderBytes, 0, kControlBytes - kHeaderBytes);
  if (auth_) auth_->Sign(buf, kControlBytes);
  if (!SendUnstamped(buf, kControlBytes, reinterpret_cast<const sockaddr*>(&from), fromLen,
                     &replyFrom)) {
    statSendErrors_.fetch_add(1, std::memory_order_relaxed);
  }
}

void ProbeSocket::EndSession(const uint8_t* buf, size_t len, const sockaddr_storage& from,
                             const ReplySource& to) {
  if (auth_) {
    switch (auth_->Check(buf, len)) {
      case AuthCheck::kUnauthenticated: return Refuse("unauthenticated");
      case AuthCheck::kBadAuth: return Refuse("bad-auth");
      case AuthCheck::kGenuine: break;
    }
  }
  if (!guard_->End(from, LocalKeyOf(to), GetU32(buf + kOffSession))) return Refuse("unknown-session");
  PushCounted(EventKind::kSessionEnded, "session-end");
}

bool ProbeSocket::SendUnstamped(const uint8_t* buf, size_t len, const sockaddr* to,
                                socklen_t toLen, const ReplySource* replyFrom) {
  iovec iov{const_cast<uint8_t*>(buf), len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(in6_pktinfo))];
  memset(control, 0, sizeof control);
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to);
  msg.msg_namelen = toLen;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  // SO_TIMESTAMPING 0 for this datagram only: no TX stamp, so the socket's OPT_ID counter
  // (which numbers stamped datagrams) does not move and the probes' stamp ids stay in step.
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  const uint32_t noStamps = 0;
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SO_TIMESTAMPING_OLD;
  c->cmsg_len = CMSG_LEN(sizeof noStamps);
  memcpy(CMSG_DATA(c), &noStamps, sizeof noStamps);
  size_t used = CMSG_SPACE(sizeof noStamps);
  if (replyFrom != nullptr && replyFrom->valid) used += WriteSourceCmsg(CMSG_NXTHDR(&msg, c), *replyFrom);
  msg.msg_controllen = used;
  bool retriedAfterIcmp = false;
  for (;;) {
    if (sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
    if (errno == EINTR) continue;
    // As in SendWithId: another datagram's ICMP error (IP_RECVERR) fails one send; once more.
    if ((errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) && !retriedAfterIcmp) {
      retriedAfterIcmp = true;
      continue;
    }
    return false;
  }
}

int ProbeSocket::SendDatagram(const uint8_t* buf, size_t len, const std::string& address,
                              uint16_t port) {
  if (config_.icmp) return EINVAL;
  const ScheduleTarget to = ParseTarget(config_.family, address, port);
  std::lock_guard<std::mutex> lifecycle(lifecycleMu_);
  if (shutDown_ || fd_ < 0) return EBADF;
  return SendUnstamped(buf, len, reinterpret_cast<const sockaddr*>(&to.addr), to.addrLen, nullptr)
             ? 0
             : errno;
}

void ProbeSocket::Refuse(const char* reason) {
  statRefused_.fetch_add(1, std::memory_order_relaxed);
  PushCounted(EventKind::kRefused, reason);
}

void ProbeSocket::PushCounted(EventKind kind, const char* reason) {
  // A flood becomes a few events: consecutive ones of a kind and reason share one.
  std::vector<Event>& events = batch_->events;
  if (!events.empty() && events.back().kind == kind && TextIs(events.back(), reason)) {
    ++events.back().count;
    return;
  }
  Event ev(kind);
  AttachText(ev, reason, strlen(reason));
  ev.count = 1;
  Push(std::move(ev));
}

namespace {

// What an ICMP error says, in words (RFC 792 / RFC 4443 codes).
const char* IcmpErrorText(const sock_extended_err& err) {
  if (err.ee_origin == SO_EE_ORIGIN_ICMP) {
    if (err.ee_type == 3) {  // destination unreachable
      switch (err.ee_code) {
        case 0: return "ICMP network unreachable";
        case 1: return "ICMP host unreachable";
        case 3: return "ICMP port unreachable";
        case 9: case 10: case 13: return "ICMP destination administratively prohibited";
        default: return "ICMP destination unreachable";
      }
    }
    if (err.ee_type == 11) return "ICMP time exceeded";
    return "ICMP error";
  }
  if (err.ee_type == 1) {  // ICMPv6 destination unreachable
    switch (err.ee_code) {
      case 0: return "ICMPv6 no route to destination";
      case 1: return "ICMPv6 destination administratively prohibited";
      case 3: return "ICMPv6 address unreachable";
      case 4: return "ICMPv6 port unreachable";
      default: return "ICMPv6 destination unreachable";
    }
  }
  if (err.ee_type == 3) return "ICMPv6 time exceeded";
  return "ICMPv6 error";
}

}  // namespace

void ProbeSocket::ReportUnreachable(const sockaddr_storage& to, const sock_extended_err& err) {
  statUnreachable_.fetch_add(1, std::memory_order_relaxed);
  // Every target sent to that address and port (usually one).
  const char* text = IcmpErrorText(err);
  const EndpointKey key = EndpointKeyOf(to);
  const auto first = std::lower_bound(targetsByEndpoint_.begin(), targetsByEndpoint_.end(),
                                      std::make_pair(key, uint32_t(0)));
  for (auto match = first; match != targetsByEndpoint_.end() && match->first == key; ++match) {
    const uint32_t target = match->second;
    // A closed port answers every probe: consecutive errors of a target share one event.
    bool merged = false;
    std::vector<Event>& events = batch_->events;
    for (auto it = events.rbegin(); it != events.rend() && it - events.rbegin() < 8; ++it) {
      if (it->kind == EventKind::kUnreachable && it->target == target && TextIs(*it, text)) {
        ++it->count;
        merged = true;
        break;
      }
    }
    if (merged) continue;
    Event ev(EventKind::kUnreachable);
    ev.target = uint32_t(target);
    AttachText(ev, text, strlen(text));
    ev.count = 1;
    Push(std::move(ev));
    if (target < unreachableNamed_.size() && unreachableNamed_[target] == 0) {
      // The batch is due now: it goes at the next flush the schedule allows (mid-gap while
      // sending), not when it is full or batchIntervalNs old.
      unreachableNamed_[target] = 1;
      lastFlushMonoNs_ = std::min(lastFlushMonoNs_, MonoNowNs() - config_.batchIntervalNs);
    }
  }
}

void ProbeSocket::AnswerFlushes() {
  // Read what the socket holds (not in a controller's quiet window, where what came since
  // the slot waits for the next one), so that the batch's read horizon is now.
  if (const int64_t nowNs = MonoNowNs(); !InQuietWindow(nowNs)) {
    socketReady_ |= POLLIN;
    Drain(/*finishBatches=*/false, nowNs + kFlushReadBudgetNs);
  }
  ReportMissedRuns();
  Event flushed(EventKind::kFlushed);
  flushed.count = std::exchange(flushAnswers_, 0);
  flushRideFromNs_ = -1;
  Push(std::move(flushed));
  Flush();
}

bool ProbeSocket::FlushAnswerDue(int64_t nowNs) const {
  if (!config_.reflector || flushRideFromNs_ < 0) return true;
  return lastReplyMonoNs_ >= flushRideFromNs_ - kJustRepliedNs || nowNs >= flushRideFromNs_ + kFlushRideNs;
}

bool ProbeSocket::FlushIfDue(int64_t nowNs) {
  if (flushAnswers_ > 0) {
    // A flush answer riding on the next reply holds the batch too: it goes out with the answer.
    if (!FlushAnswerDue(nowNs) || !FlushAnswerReadIn()) return false;
    AnswerFlushes();
    return true;
  }
  if (nowNs - lastFlushMonoNs_ < config_.batchIntervalNs && !BatchHalfFull()) return false;
  ReportMissedRuns();
  if (batch_->events.empty()) return false;
  Flush();
  return true;
}

int64_t ProbeSocket::FlushDueAtNs() const {
  if (flushAnswers_ > 0) {
    // After the next slot's reads, when none came since the request (then in that gap's middle).
    if (!FlushAnswerReadIn()) return nextDueMonoNs_;
    // now (mid-gap while a schedule runs), or a reflector's when its ride ends
    const int64_t nowNs = MonoNowNs();
    return FlushAnswerDue(nowNs) ? nowNs : flushRideFromNs_ + kFlushRideNs;
  }
  if (batch_->events.empty() && !missedPending_) return -1;
  // Half full: due now, so that it goes out where the schedule lets JS run (mid-gap), before
  // Push must hand it over full wherever the thread is (a slot's reads, right before its send).
  if (BatchHalfFull()) return lastFlushMonoNs_;
  return lastFlushMonoNs_ + config_.batchIntervalNs;
}

void ProbeSocket::NoteSlotWake(int64_t nowNs) {
  if (!wakeLateness_.Add(nowNs - std::exchange(slotWakeAtNs_, -1))) return;
  statWakeLateP50Ns_.store(wakeLateness_.P50Ns(), std::memory_order_relaxed);
  statWakeLateP90Ns_.store(wakeLateness_.P90Ns(), std::memory_order_relaxed);
  if (!config_.spinAuto || spinCapNs_ == 0) return;
  spinNs_ = std::min(spinCapNs_, wakeLateness_.P50Ns());
  statSpinNs_.store(spinNs_, std::memory_order_relaxed);
}

void ProbeSocket::FlushThenWait() {
  const int64_t nowNs = MonoNowNs();
  int64_t wakeAtNs = -1;  // none: until the socket or JS
  // The first round after the slot's wake-up: when it got here, reads done, is when it could
  // start to spin. (Woken sooner, by JS or the socket, it waits for that wake-up again.)
  if (slotWakeAtNs_ >= 0 && nowNs >= slotWakeAtNs_) NoteSlotWake(nowNs);
  if (schedule_) {
    const int64_t remainingNs = nextDueMonoNs_ - nowNs;
    if (SendAtNs() <= nowNs) {
      // A slot (or its group) is due: no flush, no wait. Unpolled, the socket may hold anything.
      socketReady_ = POLLIN | POLLERR;
      return;
    }
    if (!FlushesMidGap()) {
      FlushIfDue(nowNs);
    } else if (InQuietWindow(nowNs) && nowNs >= GapMiddleNs() && FlushIfDue(nowNs)) {
      // Mid-gap batches go to JS only in the middle of a gap (below), not at a slot's
      // wake-up. Counted from the middle, not from the wake-up that came a little after it,
      // so that batches stay 100 ms apart instead of slipping a gap later each time.
      lastFlushMonoNs_ = GapMiddleNs();
    }
    if (spinNs_ > 0 && remainingNs <= spinNs_) {
      // The last stretch awake: a VM wakes an idle vCPU slowly, a spinning one not at all.
      SpinUntilMono(nextDueMonoNs_);
      // Quiet reads: this slot's reads were done before the spin (the send marks the socket
      // for them); what came since waits for the next slot, and the send is due now.
      // Otherwise read on after it.
      if (!quietReads_) socketReady_ = POLLIN | POLLERR;
      return;
    }
    wakeAtNs = SendAtNs() - spinNs_;
  } else {
    FlushIfDue(nowNs);
  }
  const int64_t flushAtNs = FlushDueAtNs();
  if (flushAtNs >= 0) {
    int64_t flushWakeNs = flushAtNs;
    if (config_.reflector && flushAnswers_ == 0) {
      // A batch due waits up to kFlushRideNs for the next probe's wake-up, and goes out after
      // that answer: no wake-up of its own, and none between a probe and its answer. (A flush
      // answer's own ride is already in FlushDueAtNs; a reply before it ends it sooner.)
      flushWakeNs = flushAtNs + kFlushRideNs;
    } else if (FlushesMidGap()) {
      // In the middle of the gap between two slots: the last answer is in (a round trip is
      // far shorter than the gap), the next send is far, so the JavaScript thread this
      // wakes runs while nothing is measured. A batch due later waits for the next gap.
      const int64_t middleNs = GapMiddleNs();
      flushWakeNs = flushAtNs <= middleNs && middleNs > nowNs ? middleNs : -1;
    }
    if (flushWakeNs >= 0 && (wakeAtNs < 0 || flushWakeNs < wakeAtNs)) wakeAtNs = flushWakeNs;
  }
  slotWakeAtNs_ = schedule_ && wakeAtNs == SendAtNs() - spinNs_ ? wakeAtNs : -1;
  // The quiet window: while sending, what comes between two slots waits for the next one.
  // A reply's kernel RX stamp was taken on arrival, so reading it later changes no RTT; the
  // thread does not wake in the window where the target must answer, and a probe costs one
  // wake-up instead of two. Beyond kFlushIntervalNs (a slow rate) the socket is watched, so
  // that events still reach JS within one batch interval.
  const bool deferReads = schedule_ && !config_.reflector && wakeAtNs >= 0 &&
                          wakeAtNs - nowNs <= kFlushIntervalNs;
  sleptUnwatched_ = false;
  if (HasBufferedMessages() && !InQuietWindow(nowNs)) {
    // Read from the socket already, so poll cannot see them: no sleep until they are handled
    // (in the quiet window they wait for the next slot's wake-up, like the socket).
    socketReady_ |= short((rx_.next < rx_.count ? POLLIN : 0) | (err_.next < err_.count ? POLLERR : 0));
  } else if (deferReads) {
    SleepUntil(wakeAtNs);
    sleptUnwatched_ = true;
    socketReady_ = POLLIN | POLLERR;  // unpolled: read until EAGAIN
  } else {
    socketReady_ |= Poll(wakeAtNs);
  }
}

void ProbeSocket::SleepUntil(int64_t wakeAtNs) {
  // A futex wait to an absolute CLOCK_MONOTONIC deadline: where the socket need not be
  // watched, the cheapest sleep there is (no descriptors to look up, poll and unhook, no
  // relative timeout to work out), and the deadline is the schedule's own, never moved by a
  // late wake-up. JS ends it early through WakeThread; what it asked for since the Run loop's
  // last look (wakeSeqSeen_) ends it at once (EAGAIN).
  const timespec at{time_t(wakeAtNs / 1'000'000'000), long(wakeAtNs % 1'000'000'000)};
  (void)syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wakeSeq_), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                wakeSeqSeen_, &at, nullptr, FUTEX_BITSET_MATCH_ANY);
  statWakeups_.fetch_add(1, std::memory_order_relaxed);
  ForgetDrained();
}

bool ProbeSocket::QuietReadDue(int64_t nowNs) const {
  // What poll reported must be read (it would report it again at once), and so must
  // everything once the schedule is over.
  if (!quietReads_ || !schedule_ || !sleptUnwatched_) return true;
  // A batch about to go to JS (or asked for) holds everything that came before it: read in
  // this slot's wake-up when it goes out in the gap after this slot (nextDueMonoNs_ is still
  // this slot's), so that the TX stamps of its probes ride in their 'sent' records.
  if (flushAnswers_ > 0 || flushRequests_.load(std::memory_order_relaxed) > 0) return true;
  const int64_t flushAtNs = FlushDueAtNs();
  if (flushAtNs >= 0 && flushAtNs <= nextDueMonoNs_ + slotSpacingNs_) return true;
  // The last read filled its batch: more wait (a flood, a burst), read on at every slot.
  if (rx_.count == kRecvBatch || err_.count == kRecvBatch) return true;
  return nowNs - lastQuietReadNs_ >= kQuietReadIntervalNs;
}

short ProbeSocket::Poll(int64_t wakeAtNs) {
  pollfd fds[2] = {{fd_, POLLIN | POLLPRI | POLLERR, 0}, {wakeFd_, POLLIN, 0}};
  // The deadline is absolute; ppoll's timeout is taken from it anew before every wait, so a
  // late wake-up never moves the next one, and with the thread's 1 ns timer slack it is as
  // exact as a timerfd, without the timerfd_settime call per slot (on this VM's paravirtual
  // interrupts that call cost as much as the wait itself).
  timespec timeout{};
  if (wakeAtNs >= 0) {
    const int64_t inNs = std::max<int64_t>(0, wakeAtNs - MonoNowNs());
    timeout.tv_sec = time_t(inNs / 1'000'000'000);
    timeout.tv_nsec = long(inNs % 1'000'000'000);
  }
  const int ready = ppoll(fds, 2, wakeAtNs >= 0 ? &timeout : nullptr, nullptr);
  statWakeups_.fetch_add(1, std::memory_order_relaxed);
  ForgetDrained();
  if (ready <= 0) return 0;
  if ((fds[1].revents & POLLIN) != 0) {
    uint64_t count;
    (void)!read(wakeFd_, &count, sizeof count);
  }
  return fds[0].revents;
}

void ProbeSocket::Push(Event&& event) {
  batch_->events.push_back(std::move(event));
  if (batch_->events.size() >= kMaxBatch) Flush();
}

void ProbeSocket::Flush() {
  lastFlushMonoNs_ = MonoNowNs();
  if (batch_->events.empty()) return;
  // The next batch is one that JS has given back: no allocation once the pool is warm.
  std::unique_ptr<EventBatch> full = std::exchange(batch_, batchPool_->Take());
  full->readUntilMonoNs = readHorizonNs_;
  full->flushedMonoNs = lastFlushMonoNs_;
  ++batchSerial_;
  if (flush_) {
    flush_(std::move(full));
  } else {
    ReturnToPool(std::move(full));
  }
}

void ProbeSocket::ReportError(const std::string& message) {
  // At most 10 error events a second: a flood of failing sends must not flood JS.
  const int64_t nowNs = MonoNowNs();
  if (nowNs - errorWindowStartNs_ >= 1'000'000'000) {
    errorWindowStartNs_ = nowNs;
    errorsInWindow_ = 0;
  }
  if (errorsInWindow_ >= 10) {
    ++errorsSuppressed_;
    return;
  }
  ++errorsInWindow_;
  Event ev(EventKind::kError);
  std::string text = message;
  if (errorsSuppressed_ > 0) {
    text += " (" + std::to_string(errorsSuppressed_) + " earlier errors not reported)";
    errorsSuppressed_ = 0;
  }
  AttachText(ev, text.data(), text.size());
  Push(std::move(ev));
}

}  // namespace rtprobe
