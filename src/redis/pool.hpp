// Internal: a bounded pool of connections to ONE endpoint.
//
// acquire() hands out a connection through a Lease (RAII: the destructor gives
// it back, or discards it when it is broken). Connections are opened lazily,
// on demand, outside the pool's lock; an idle connection is checked with a
// cheap peek before reuse, so connections the server closed (restart, idle
// timeout) are replaced without a failed command. At most `max_size`
// connections exist; a caller waits at most `wait_timeout` for one.
//
// Thread safety: acquire() and Lease destruction may run on any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "redis/connection.hpp"

namespace cachet::redis {

class Pool {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) { other.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (pool_ != nullptr && conn_) pool_->give_back(std::move(conn_));
    }

    explicit operator bool() const noexcept { return conn_ != nullptr; }
    Connection* operator->() const noexcept { return conn_.get(); }
    Connection& operator*() const noexcept { return *conn_; }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Pool* pool_ = nullptr;
    std::unique_ptr<Connection> conn_;
  };

  Pool(Endpoint endpoint, ConnectionSettings settings, std::size_t max_size, std::chrono::milliseconds wait_timeout);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// A connection, or an empty Lease and `failure` (the connect failure, or
  /// ErrorKind::pool_exhausted after wait_timeout).
  Lease acquire(Failure& failure);

  const Endpoint& endpoint() const noexcept { return endpoint_; }
  std::size_t max_size() const noexcept { return max_size_; }

 private:
  void give_back(std::unique_ptr<Connection> conn) noexcept;
  /// False for a connection set up under an older ConnectionSetup generation.
  bool current(const Connection& conn) const noexcept;
  /// Closes `conn`, telling the ConnectionSetup (if any).
  void discard(std::unique_ptr<Connection> conn) noexcept;

  const Endpoint endpoint_;
  const ConnectionSettings settings_;
  const std::size_t max_size_;
  const std::chrono::milliseconds wait_timeout_;
  const std::string endpoint_name_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_; back = most recently used
  std::size_t open_ = 0;                           // guarded by mu_: idle + leased + connecting
};

}  // namespace cachet::redis
