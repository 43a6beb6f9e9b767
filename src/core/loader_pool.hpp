// Internal: where get_or_set's background loads run, and the guard that keeps
// them from touching a cache that is being destroyed.
//
// LoaderPool is a cache's own small thread pool (created on first need). Its
// queue is bounded: submit() refuses past kMaxQueued tasks, and the caller then
// runs the load itself. stop() destroys the tasks not yet started (each task
// completes its waiters from its destructor) and joins the threads.
//
// LifetimeGuard is shared by a cache and every task it hands out, to its own
// pool or to an application's LoadExecutor: a task enter()s before it touches
// the cache and leave()s after; the cache's destructor calls close(), which
// refuses later enter()s and waits for the tasks inside to leave.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cachet::detail {

class LoaderPool {
 public:
  static constexpr std::size_t kMaxQueued = 10'000;

  explicit LoaderPool(std::size_t threads);
  ~LoaderPool() { stop(); }
  LoaderPool(const LoaderPool&) = delete;
  LoaderPool& operator=(const LoaderPool&) = delete;

  /// Queues `task`; false (task untouched) when the queue is full or stopped.
  bool submit(std::function<void()>& task);
  /// Destroys queued tasks, waits for running ones, joins. Idempotent.
  void stop() noexcept;

 private:
  void work();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class LifetimeGuard {
 public:
  /// True (and counted inside) while the owner is alive.
  bool enter() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    ++inside_;
    return true;
  }
  void leave() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--inside_ == 0) cv_.notify_all();
  }
  /// Refuses later enter()s and waits until nobody is inside. Idempotent.
  void close() {
    std::unique_lock<std::mutex> lock(mu_);
    closed_ = true;
    cv_.wait(lock, [this] { return inside_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int inside_ = 0;
  bool closed_ = false;
};

}  // namespace cachet::detail
