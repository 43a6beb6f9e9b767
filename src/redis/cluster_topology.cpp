#include "redis/cluster_topology.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <thread>
#include <utility>

namespace cachet::redis {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::int64_t kMinRefreshGapNs = 100'000'000;  // 100 ms between CLUSTER SLOTS attempts

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// TRYAGAIN / CLUSTERDOWN: wait 10, 20, 40, 80, 100, 100... ms, in all at most
// the socket timeout.
std::chrono::milliseconds backoff_step(int retry) {
  return std::chrono::milliseconds(std::min(100, 10 << std::min(retry, 4)));
}

}  // namespace

ClusterTopology::ClusterTopology(ClusterConfig config) : config_(std::move(config)) {
  for (auto& slot : slots_) slot.store(nullptr, std::memory_order_relaxed);
}

ClusterTopology::~ClusterTopology() = default;

Pool& ClusterTopology::node(const Endpoint& endpoint) {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  auto& pool = nodes_[endpoint.describe()];
  if (!pool) {
    pool = std::make_unique<Pool>(endpoint, config_.pools.connection, config_.pools.size, config_.pools.wait_timeout);
    node_order_.push_back(pool.get());
  }
  return *pool;
}

const ClusterTopology::Shard* ClusterTopology::shard(Pool* master, std::vector<Pool*> replicas) {
  std::string key = master->endpoint().describe();
  for (const Pool* r : replicas) key += ' ' + r->endpoint().describe();
  std::lock_guard<std::mutex> lock(nodes_mu_);
  auto& found = shard_index_[key];
  if (!found) {
    auto s = std::make_unique<Shard>();
    s->master = master;
    s->replicas = std::move(replicas);
    found = s.get();
    shards_.push_back(std::move(s));
  }
  return found;
}

Failure ClusterTopology::unusable(std::string what) const {
  Failure f = last_failure_;
  f.message = std::move(what) + (last_error_.empty() ? std::string() : "; " + last_error_);
  return f;
}

Pool* ClusterTopology::pool_for(std::string_view prefix, std::string_view key, Route& route, Failure& failure) {
  const int slot = key_slot(prefix, key);
  const std::int64_t interval_ns = std::chrono::nanoseconds(config_.refresh_interval).count();
  if (now_ns() - last_refresh_ns_.load(std::memory_order_relaxed) > interval_ns) refresh(false);
  const Shard* s = slots_[static_cast<std::size_t>(slot)].load(std::memory_order_acquire);
  if (s == nullptr) {
    refresh(true);
    s = slots_[static_cast<std::size_t>(slot)].load(std::memory_order_acquire);
    if (s == nullptr) {
      std::lock_guard<std::mutex> lock(refresh_mu_);
      failure = unusable("no cluster node is known to serve slot " + std::to_string(slot));
      return nullptr;
    }
  }
  if (route.read && config_.read_from_replicas && !s->replicas.empty()) {
    const unsigned i = s->next_replica.fetch_add(1, std::memory_order_relaxed);
    route.readonly = true;
    return s->replicas[i % s->replicas.size()];
  }
  return s->master;
}

std::vector<Pool*> ClusterTopology::pools(Failure& failure) {
  if (last_refresh_ns_.load(std::memory_order_relaxed) == 0 ||
      now_ns() - last_refresh_ns_.load(std::memory_order_relaxed) > kMinRefreshGapNs) {
    refresh(true);  // clear() and ping() want the masters of now
  }
  std::vector<Pool*> masters;
  for (const auto& slot : slots_) {
    const Shard* s = slot.load(std::memory_order_acquire);
    if (s != nullptr && std::find(masters.begin(), masters.end(), s->master) == masters.end()) {
      masters.push_back(s->master);
    }
  }
  if (masters.empty()) {
    std::lock_guard<std::mutex> lock(refresh_mu_);
    failure = unusable("no cluster node is known");
  }
  return masters;
}

bool ClusterTopology::serves_all(Failure& failure) {
  int first_gap = -1;
  int gaps = 0;
  for (int i = 0; i < kClusterSlots; ++i) {
    if (slots_[static_cast<std::size_t>(i)].load(std::memory_order_acquire) == nullptr) {
      if (first_gap < 0) first_gap = i;
      ++gaps;
    }
  }
  if (gaps == 0) return true;
  std::lock_guard<std::mutex> lock(refresh_mu_);
  failure = unusable(std::to_string(gaps) + " of 16384 slots have no node (the first: slot " +
                     std::to_string(first_gap) + ")");
  if (failure.kind == ErrorKind::connection && last_ok_) failure.cause = ErrorCause::cluster_down;
  return false;
}

bool ClusterTopology::follow(ErrorCause cause, std::string_view reply, const Pool& from, Route& route) {
  switch (cause) {
    case ErrorCause::moved:
    case ErrorCause::ask: {
      auto to = parse_redirection(reply);
      if (!to || ++route.redirects > config_.pools.max_redirects) return false;
      // Sent on more than once: the nodes disagree about the slot for a moment
      // (it is changing hands, and one of them has not been told yet). Give
      // them 2, 4, 8, 16 ms instead of bouncing between them at once.
      if (route.redirects > 1) std::this_thread::sleep_for(std::chrono::milliseconds(2 << std::min(route.redirects - 2, 3)));
      Endpoint target;
      target.host = to->host.empty() ? from.endpoint().host : to->host;
      target.port = to->port;
      Pool& pool = node(target);
      route.pool = &pool;
      route.readonly = false;
      route.asking = cause == ErrorCause::ask;
      if (cause == ErrorCause::moved) {
        // The slot has a new owner; its replicas are learnt at the next refresh.
        slots_[static_cast<std::size_t>(to->slot)].store(shard(&pool, {}), std::memory_order_release);
        refresh(false);
      }
      return true;
    }
    case ErrorCause::try_again:
    case ErrorCause::cluster_down: {
      const auto now = Clock::now();
      if (route.backoff_since == Clock::time_point{}) route.backoff_since = now;
      const auto step = backoff_step(route.redirects++);
      if (now + step - route.backoff_since > config_.pools.connection.socket_timeout) return false;
      if (cause == ErrorCause::cluster_down) refresh(false);
      std::this_thread::sleep_for(step);
      route.pool = nullptr;
      route.asking = false;
      route.readonly = false;
      return true;
    }
    case ErrorCause::read_only:
    case ErrorCause::loading:
      // A replica that lost READONLY, or a node that just restarted: ask the
      // map again, go to the master.
      if (++route.redirects > config_.pools.max_redirects) return false;
      refresh(false);
      route.pool = nullptr;
      route.read = false;
      route.readonly = false;
      route.asking = false;
      return true;
    default:
      return false;
  }
}

void ClusterTopology::lost() { refresh(false); }

bool ClusterTopology::refresh(bool wait) {
  std::unique_lock<std::mutex> lock(refresh_mu_, std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return false;
  }
  const std::int64_t start = now_ns();
  if (last_attempt_ns_ != 0 && start - last_attempt_ns_ < kMinRefreshGapNs) return last_ok_;
  last_attempt_ns_ = start;

  // Whom to ask: the node that answered last, the other known nodes, the seeds.
  std::vector<Pool*> candidates;
  if (last_source_ != nullptr) candidates.push_back(last_source_);
  {
    std::lock_guard<std::mutex> nodes_lock(nodes_mu_);
    for (Pool* p : node_order_) {
      if (p != last_source_) candidates.push_back(p);
    }
  }
  for (const auto& seed : config_.seeds) {
    Pool& p = node(seed);
    if (std::find(candidates.begin(), candidates.end(), &p) == candidates.end()) candidates.push_back(&p);
  }

  std::string errors;
  Failure first_failure;
  bool have_failure = false;
  for (Pool* p : candidates) {
    Failure f;
    if (try_refresh_from(*p, errors, f)) {
      last_ok_ = true;
      last_source_ = p;
      last_error_.clear();
      last_refresh_ns_.store(now_ns(), std::memory_order_relaxed);
      return true;
    }
    if (!have_failure) {
      first_failure = f;
      have_failure = true;
    }
  }
  last_ok_ = false;
  last_failure_ = first_failure;
  last_error_ = "cluster map unavailable, nodes tried: " + errors;
  return false;
}

bool ClusterTopology::try_refresh_from(Pool& pool, std::string& errors, Failure& failure) {
  auto note = [&](const std::string& what) {
    if (!errors.empty()) errors += "; ";
    errors += what;
  };
  auto lease = pool.acquire(failure);
  if (!lease) {
    note(failure.message);
    return false;
  }
  Request& request = lease->request();
  request.clear();
  request.begin(2).arg("CLUSTER").arg("SLOTS");
  const bool sent = lease->send(request, failure);
  request.clear();
  ReplyPtr reply = sent ? lease->receive(failure, "CLUSTER SLOTS") : nullptr;
  if (!reply) {
    note(failure.message);
    return false;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    failure = lease->reply_failure(*reply, "CLUSTER SLOTS");
    note(failure.message);
    return false;
  }
  std::string error;
  auto ranges = parse_cluster_slots(*reply, pool.endpoint().host, error);
  if (!ranges || ranges->empty()) {
    failure = {ErrorKind::protocol, (ranges ? std::string("CLUSTER SLOTS lists no slots") : error) + " (" +
                                        lease->endpoint_name() + ")"};
    note(failure.message);
    return false;
  }
  install(*ranges);
  return true;
}

void ClusterTopology::install(const std::vector<SlotRange>& ranges) {
  std::vector<const Shard*> table(kClusterSlots, nullptr);
  for (const auto& range : ranges) {
    Pool* master = &node(range.master);
    std::vector<Pool*> replicas;
    for (const auto& r : range.replicas) replicas.push_back(&node(r));
    const Shard* s = shard(master, std::move(replicas));
    for (int slot = range.first; slot <= range.last; ++slot) table[static_cast<std::size_t>(slot)] = s;
  }
  for (std::size_t i = 0; i < table.size(); ++i) slots_[i].store(table[i], std::memory_order_release);
}

}  // namespace cachet::redis
