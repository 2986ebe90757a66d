#include "rt_thread.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <unistd.h>

namespace rtprobe {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? std::string(name) : "errno " + std::to_string(err);
}

namespace {

using Warnings = std::vector<std::string>;

void SetMinimalTimerSlack(Warnings& warnings) {
  // The default 50 µs timer slack would be added to every wake-up of the schedule.
  if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0) {
    warnings.push_back("timer slack not set to 1 ns: " + ErrnoName(errno) +
                       " — wake-ups may be up to 50 µs late");
  }
}

void PinToCpu(int cpu, Warnings& warnings) {
  const int cpuCount = get_nprocs_conf();
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const bool haveAllowed = sched_getaffinity(0, sizeof allowed, &allowed) == 0;
  if (cpu >= cpuCount || cpu >= CPU_SETSIZE) {
    warnings.push_back("CPU " + std::to_string(cpu) + " does not exist (CPUs 0.." +
                       std::to_string(cpuCount - 1) + "); thread not pinned");
  } else if (haveAllowed && !CPU_ISSET(cpu, &allowed)) {
    warnings.push_back("CPU " + std::to_string(cpu) +
                       " is not in this process's allowed CPU set (taskset / cgroup cpuset); "
                       "thread not pinned");
  } else {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    const int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (err != 0) {
      warnings.push_back("thread not pinned to CPU " + std::to_string(cpu) + ": " +
                         ErrnoName(err));
    }
  }
}

void SetFifoPriority(int rtPriority, Warnings& warnings) {
  sched_param param{};
  param.sched_priority = rtPriority;
  const int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
  if (err == 0) return;
  const std::string prio = std::to_string(rtPriority);
  std::string why;
  if (err == EPERM && geteuid() == 0) {
    // Root and still refused: a cgroup without real-time runtime (RT_GROUP_SCHED).
    why = " — the cgroup may have no real-time runtime (cpu.rt_runtime_us)";
  } else if (err == EPERM) {
    why = " — needs CAP_SYS_NICE or RLIMIT_RTPRIO >= " + prio + " (ulimit -r)";
  }
  warnings.push_back("SCHED_FIFO priority " + prio + " not set: " + ErrnoName(err) + why);
}

// The calling thread's stack; false when glibc cannot tell.
bool ThreadStack(void** stack, size_t* stackBytes) {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return false;
  pthread_attr_getstack(&attr, stack, stackBytes);
  pthread_attr_destroy(&attr);
  return true;
}

void LockThreadMemory(const std::vector<std::pair<const void*, size_t>>& lockRegions,
                      Warnings& warnings) {
  std::vector<std::pair<const void*, size_t>> regions = lockRegions;
  void* stack = nullptr;
  size_t stackBytes = 0;
  if (ThreadStack(&stack, &stackBytes)) regions.emplace_back(stack, stackBytes);
  for (const auto& region : regions) {
    if (::mlock(region.first, region.second) != 0) {
      const int err = errno;
      warnings.push_back("mlock of the socket thread's stack and buffers failed: " +
                         ErrnoName(err) +
                         " — needs CAP_IPC_LOCK or a larger RLIMIT_MEMLOCK (ulimit -l)");
      break;
    }
  }
}

}  // namespace

std::vector<std::string> ApplyRtOptions(const RtOptions& options) {
  Warnings warnings;
  SetMinimalTimerSlack(warnings);
  if (options.cpu >= 0) PinToCpu(options.cpu, warnings);
  if (options.rtPriority > 0) SetFifoPriority(options.rtPriority, warnings);
  if (options.mlock) LockThreadMemory(options.lockRegions, warnings);
  return warnings;
}

void UnlockRtMemory(const RtOptions& options) {
  if (!options.mlock) return;
  for (const auto& region : options.lockRegions) ::munlock(region.first, region.second);
  void* stack = nullptr;
  size_t stackBytes = 0;
  // glibc keeps the stack of an ended thread in a cache: it must not stay locked there.
  if (ThreadStack(&stack, &stackBytes)) ::munlock(stack, stackBytes);
}

}  // namespace rtprobe
