#include "thread-pool.h"

#include "cpu.h"

namespace motif {

// How long a thread busy-waits before sleeping on a condition variable. A forward pass issues
// matmuls back to back with little work in between; spinning briefly saves the futex wake-up
// (tens of microseconds) per call, and the bound keeps idle threads from eating a shared core.
constexpr int kSpinIterations = 20000;

ThreadPool::ThreadPool(int threads) {
  int n = threads < 1 ? 1 : threads;
  workers_.reserve(n - 1);
  for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(int n, TaskFn fn, void* ctx) {
  if (n > size()) n = size();
  // Single-threaded jobs take their turn too, so a second JS thread never adds a runner on top
  // of a job that already uses every core.
  std::lock_guard<std::mutex> turn(turn_);
  if (n <= 1) {
    fn(ctx, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_n_ = n;
    job_fn_ = fn;
    job_ctx_ = ctx;
    pending_.store(n - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  fn(ctx, 0);
  for (int spin = 0; spin < kSpinIterations; ++spin) {
    if (pending_.load(std::memory_order_acquire) == 0) return;
    cpu_relax();
  }
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      if (generation_.load(std::memory_order_acquire) != seen) break;
      cpu_relax();
    }
    int n;
    TaskFn fn;
    void* ctx;
    {
      // Read the job under the lock: a worker that sat out the previous job may wake late, and
      // the lock guarantees it sees one whole job description, never a mix of two.
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
      if (stop_) return;
      seen = generation_.load(std::memory_order_acquire);
      n = job_n_;
      fn = job_fn_;
      ctx = job_ctx_;
    }
    if (index >= n) continue;  // this job uses fewer threads
    fn(ctx, index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      done_.notify_one();
    }
  }
}

ThreadPool& shared_pool() {
  // Intentionally leaked: joining threads from a static destructor at process exit can race with
  // a job still running on another thread; the OS reclaims the threads anyway.
  static ThreadPool* pool = new ThreadPool(available_cores());
  return *pool;
}

}  // namespace motif
