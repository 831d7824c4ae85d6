// A persistent fork-join pool. `run(n, fn, ctx)` offers a job to up to n threads (the caller is
// thread 0) and returns when every thread that took it has finished.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace motif {

using TaskFn = void (*)(void* ctx, int index);

class ThreadPool {
 public:
  // `threads` counts the caller, so the pool starts threads - 1 workers.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(ctx, 0) on the caller and fn(ctx, i), 0 < i < n, on each worker that wakes up
  // before the caller's own call returns. A worker that comes later (descheduled by another
  // process, say) is skipped rather than waited for, so fn must share out the work dynamically
  // (threads pull pieces from an atomic counter): whoever runs does all of it.
  //
  // Safe to call from several threads at once (main thread, libuv workers, worker_threads): jobs
  // take turns, so two callers never oversubscribe the cores.
  void run(int n, TaskFn fn, void* ctx);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex turn_;  // one job at a time

  // The current job; written under mu_ before generation_ is bumped.
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> active_{0};  // workers inside fn for the current job
  bool open_ = false;           // workers may still join the current job
  int job_n_ = 0;
  TaskFn job_fn_ = nullptr;
  void* job_ctx_ = nullptr;
  bool stop_ = false;
};

// The work-sharing loop every job's fn runs (see run()): takes pieces [i, i + step) from the
// shared counter until `count` is reached and calls piece(i) for each.
template <class Piece>
inline void for_each_piece(std::atomic<int64_t>& next, int64_t count, int64_t step, Piece&& piece) {
  for (int64_t i = next.fetch_add(step, std::memory_order_relaxed); i < count; i = next.fetch_add(step, std::memory_order_relaxed)) piece(i);
}

// The process-wide pool, created on first use and sized to the available cores. One pool per
// process (not per JS context) is deliberate: worker_threads that each load the addon must share
// the cores instead of each starting a full set of threads.
ThreadPool& shared_pool();

}  // namespace motif
