#include "redis/pool.hpp"

#include <utility>

namespace cachet::redis {

Pool::Pool(Endpoint endpoint, ConnectionSettings settings, std::size_t max_size, std::chrono::milliseconds wait_timeout)
    : endpoint_(std::move(endpoint)),
      settings_(std::move(settings)),
      max_size_(max_size),
      wait_timeout_(wait_timeout),
      endpoint_name_(endpoint_.describe()) {
  idle_.reserve(max_size_);
}

Pool::~Pool() = default;

Pool::Lease Pool::acquire(Failure& failure) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + wait_timeout_;
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (conn->alive() && current(*conn)) return Lease(this, std::move(conn));
      discard(std::move(conn));  // closed by the server, or set up for an older generation: reconnect in its slot
      break;
    }
    if (open_ < max_size_) {
      ++open_;
      lock.unlock();
      break;
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= max_size_) {
      failure = {ErrorKind::pool_exhausted, "no free connection within " + std::to_string(wait_timeout_.count()) +
                                                " ms (pool_size " + std::to_string(max_size_) + ", " +
                                                endpoint_name_ + ")"};
      return {};
    }
  }

  // We hold a slot (counted in open_) and no lock: connect.
  auto conn = Connection::open(endpoint_, settings_, failure);
  if (!conn) {
    {
      std::lock_guard<std::mutex> guard(mu_);
      --open_;
    }
    cv_.notify_one();
    return {};
  }
  return Lease(this, std::move(conn));
}

bool Pool::current(const Connection& conn) const noexcept {
  return !settings_.setup || conn.setup_generation() == settings_.setup->generation();
}

void Pool::discard(std::unique_ptr<Connection> conn) noexcept {
  if (settings_.setup && conn->setup_generation() != 0) {
    settings_.setup->closed(conn->setup_generation(), conn->client_id());
  }
  conn.reset();
}

void Pool::give_back(std::unique_ptr<Connection> conn) noexcept {
  if (conn->broken() || !current(*conn)) {
    discard(std::move(conn));  // close outside the lock
    std::lock_guard<std::mutex> guard(mu_);
    --open_;
  } else {
    std::lock_guard<std::mutex> guard(mu_);
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

}  // namespace cachet::redis
