#include "thread-pool.h"

#include <chrono>

#include "cpu.h"

namespace motif {
namespace {

// How long a thread busy-waits before sleeping on a condition variable. A forward pass issues
// matmuls back to back with little work in between; spinning briefly saves the futex wake-up
// (tens of microseconds) per call, and the bound keeps idle threads from eating a shared core.
constexpr auto kSpin = std::chrono::microseconds(50);

// Spins until pred() holds or kSpin has passed; true if pred() held.
template <class Pred>
bool spin_until(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (pred()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
}

}  // namespace

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
    open_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  fn(ctx, 0);
  {
    // Close the job: the work is shared out dynamically, so whatever is left is already in the
    // hands of workers that joined; the rest must not start on it (ctx dies when we return).
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  if (spin_until([this] { return active_.load(std::memory_order_acquire) == 0; })) return;
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [this] { return active_.load(std::memory_order_acquire) == 0; });
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    TaskFn fn;
    void* ctx;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
      if (stop_) return;
      seen = generation_.load(std::memory_order_acquire);
      if (!open_ || index >= job_n_) continue;  // too late, or this job uses fewer threads
      active_.fetch_add(1, std::memory_order_relaxed);
      fn = job_fn_;
      ctx = job_ctx_;
    }
    fn(ctx, index);
    if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
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
