// Batches of events on their way from a socket thread to JavaScript, reused: a batch is
// filled on the thread, packed for JS on the main thread (addon.cc), and given back to the
// pool it came from, so that once the pool has warmed up the socket thread allocates
// nothing per event or per batch (issue 15: no malloc on a SCHED_FIFO thread).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "events.h"

namespace rtprobe {

class EventBatchPool;

struct EventBatch {
  std::vector<Event> events;
  std::vector<uint8_t> data;  // the datagrams of its rx events, back to back (Event::dataOffset)
  int64_t readUntilMonoNs = 0;  // ProbeSocket::readHorizonNs_ when it was handed out
  int64_t flushedMonoNs = 0;    // when it was handed out: how far behind JS is when it gets it
  std::weak_ptr<EventBatchPool> home;  // where it goes back; gone with the socket
};

class EventBatchPool : public std::enable_shared_from_this<EventBatchPool> {
 public:
  // Each batch reserves room for `events` events and `dataBytes` of datagrams; a batch that
  // needs more grows and keeps its size.
  static std::shared_ptr<EventBatchPool> Create(size_t events, size_t dataBytes);
  // A cleared batch: a returned one, or a new one when none is free (JS is behind).
  std::unique_ptr<EventBatch> Take();
  // Back to the pool once its events are delivered; any thread.
  void Give(std::unique_ptr<EventBatch> batch);
  // Batches this pool has allocated: what the socket thread did not get back in time.
  uint64_t allocated() const;
  // Batches taken and not given back: the one being filled and those waiting for JS.
  size_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }

 private:
  EventBatchPool(size_t events, size_t dataBytes) : events_(events), dataBytes_(dataBytes) {}
  const size_t events_;
  const size_t dataBytes_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<EventBatch>> free_;
  uint64_t allocated_ = 0;
  std::atomic<size_t> outstanding_{0};
};

// A batch handed out goes back to its pool, or is freed when the pool is gone.
void ReturnToPool(std::unique_ptr<EventBatch> batch);

}  // namespace rtprobe
