/*
 * The floor of rtprobe's controller I/O thread (npm run bench, CPU per probe): the system calls
 * that thread makes for one UDP probe at 100 Hz, in a bare C loop, no JavaScript, no events.
 * One futex wait to each absolute deadline (the word the thread sleeps on for JavaScript's
 * requests), every 5th slot (50 ms, kQuietReadIntervalNs) the TX stamps (MSG_ERRQUEUE) and the
 * replies read 16 at a time, then one sendmsg of a kernel-stamped probe (SCM_TS_OPT_ID). Set beside the thread in the same minute,
 * it shows what of the thread's CPU is the kernel's work for such a probe and what is rtprobe's.
 *
 *   udp-floor PORT PROBE_HEX SEQ_OFFSET SECONDS [OFFSET_US]   (to 127.0.0.1, a running rtprobe agent)
 *
 * Slots fall on 10 ms boundaries of CLOCK_MONOTONIC plus OFFSET_US (default 0): the bench starts
 * it at several offsets, since on a VM a loop's CPU a probe depends on when in the period it
 * wakes relative to the processes beside it.
 *
 * Prints "sent N replies N stamps N" at the end: a floor that got no replies did less work.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/futex.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81 /* Linux 6.13 */
#endif

enum { kBatch = 16, kSlotBytes = 2048, kPeriodNs = 10000000, kReadEverySlots = 5 };

static int64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Reads what the queue holds, up to kBatch datagrams; how many. */
static int read_batch(int fd, int flags) {
  static char data[kBatch][kSlotBytes], control[kBatch][256];
  static struct sockaddr_storage names[kBatch];
  struct mmsghdr msgs[kBatch];
  struct iovec iovs[kBatch];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < kBatch; i++) {
    iovs[i] = (struct iovec){data[i], kSlotBytes};
    msgs[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_namelen = sizeof names[i], .msg_iov = &iovs[i],
                                      .msg_iovlen = 1, .msg_control = control[i], .msg_controllen = sizeof control[i]};
  }
  const int got = recvmmsg(fd, msgs, kBatch, flags | MSG_DONTWAIT, NULL);
  return got < 0 ? 0 : got;
}

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: udp-floor PORT PROBE_HEX SEQ_OFFSET SECONDS [OFFSET_US]\n");
    return 2;
  }
  const int port = atoi(argv[1]);
  const size_t probe_len = strlen(argv[2]) / 2;
  const size_t seq_at = (size_t)atoi(argv[3]);
  const int64_t seconds = atoll(argv[4]);
  unsigned char probe[1472];
  if (probe_len < seq_at + 8 || probe_len > sizeof probe) return 2;
  for (size_t i = 0; i < probe_len; i++) sscanf(argv[2] + 2 * i, "%2hhx", &probe[i]);

  prctl(PR_SET_TIMERSLACK, 1); /* as rtprobe's thread: deadlines to the ns */
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int stamping = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                       SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
  const int on = 1, pmtu = IP_PMTUDISC_DO;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &stamping, sizeof stamping) != 0 ||
      setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on) != 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu) != 0) {
    perror("udp-floor: socket");
    return 1;
  }
  static uint32_t wake_word; /* nobody wakes it: each wait ends at its deadline */
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);

  const int64_t offset_ns = argc == 6 ? (atoll(argv[5]) % 10000) * 1000 : 0;
  const int64_t start_ns = (mono_ns() / kPeriodNs + 10) * kPeriodNs + offset_ns;
  const int64_t end_ns = start_ns + seconds * 1000000000;
  int id_cmsg = 1;
  uint32_t next_id = 0;
  long sent = 0, replies = 0, stamps = 0;
  for (uint64_t slot = 0;; slot++) {
    const int64_t due_ns = start_ns + (int64_t)slot * kPeriodNs;
    if (due_ns >= end_ns) break;
    const struct timespec at = {due_ns / 1000000000, due_ns % 1000000000};
    while (mono_ns() < due_ns) {
      syscall(SYS_futex, &wake_word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, &at, NULL, FUTEX_BITSET_MATCH_ANY);
    }
    if (slot % kReadEverySlots == 0) {
      stamps += read_batch(fd, MSG_ERRQUEUE);
      replies += read_batch(fd, 0);
    }
    for (int b = 0; b < 8; b++) probe[seq_at + b] = (unsigned char)(slot >> (56 - 8 * b));
    struct iovec iov = {probe, probe_len};
    char control[CMSG_SPACE(sizeof(uint32_t))];
    struct msghdr msg = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1};
    if (id_cmsg) {
      memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_TS_OPT_ID;
      c->cmsg_len = CMSG_LEN(sizeof next_id);
      memcpy(CMSG_DATA(c), &next_id, sizeof next_id);
    }
    if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
      sent++;
      next_id++;
    } else if (id_cmsg) {
      id_cmsg = 0; /* a kernel before 6.13: the socket's own counter, as rtprobe falls back */
    }
  }
  stamps += read_batch(fd, MSG_ERRQUEUE);
  replies += read_batch(fd, 0);
  printf("sent %ld replies %ld stamps %ld\n", sent, replies, stamps);
  return 0;
}
