// A persistent fork-join pool: `run(n, fn, ctx)` calls fn(ctx, i) for i in [0, n) on n threads
// (the caller is thread 0) and returns when all are done.
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

  // Runs fn(ctx, 0..n-1), n clamped to [1, size()]. Safe to call from several threads at once
  // (main thread, libuv workers, worker_threads): jobs take turns, so the cores are never
  // oversubscribed by two matmuls fighting over them.
  void run(int n, TaskFn fn, void* ctx);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex turn_;  // one job at a time

  // The current job, written under mu_ before generation_ is bumped.
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  int job_n_ = 0;
  TaskFn job_fn_ = nullptr;
  void* job_ctx_ = nullptr;
  bool stop_ = false;
};

// The process-wide pool, created on first use and sized to the available cores. One pool per
// process (not per JS context) is deliberate: worker_threads that each load the addon must share
// the cores instead of each starting a full set of threads.
ThreadPool& shared_pool();

}  // namespace motif
