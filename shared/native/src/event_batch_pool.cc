#include "event_batch_pool.h"

namespace rtprobe {

std::shared_ptr<EventBatchPool> EventBatchPool::Create(size_t events, size_t dataBytes) {
  auto pool = std::shared_ptr<EventBatchPool>(new EventBatchPool(events, dataBytes));
  // Room for the batches that can be on their way at once (one filling, one or two queued
  // for JS), so that returning one never allocates either.
  pool->free_.reserve(8);
  return pool;
}

std::unique_ptr<EventBatch> EventBatchPool::Take() {
  outstanding_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      std::unique_ptr<EventBatch> batch = std::move(free_.back());
      free_.pop_back();
      return batch;
    }
    ++allocated_;
  }
  auto batch = std::make_unique<EventBatch>();
  batch->events.reserve(events_);
  batch->data.reserve(dataBytes_);
  batch->home = weak_from_this();
  return batch;
}

void EventBatchPool::Give(std::unique_ptr<EventBatch> batch) {
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  batch->events.clear();  // keeps the capacity
  batch->data.clear();
  std::lock_guard<std::mutex> lock(mu_);
  // More free batches than the pool ever needs at once (after a burst): let them go.
  if (free_.size() < free_.capacity()) free_.push_back(std::move(batch));
}

uint64_t EventBatchPool::allocated() const {
  std::lock_guard<std::mutex> lock(mu_);
  return allocated_;
}

void ReturnToPool(std::unique_ptr<EventBatch> batch) {
  if (!batch) return;
  if (std::shared_ptr<EventBatchPool> pool = batch->home.lock()) pool->Give(std::move(batch));
}

}  // namespace rtprobe
