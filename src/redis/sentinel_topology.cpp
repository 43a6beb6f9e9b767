#include "redis/sentinel_topology.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>

#include "core/log.hpp"

namespace cachet::redis {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::int64_t kMinResolveGapNs = 100'000'000;   // 100 ms between resolutions
constexpr std::chrono::milliseconds kWatchWait{250};     // longest blocking read of the subscriber

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::string_view text_of(const redisReply& r) { return {r.str, r.len}; }

// One round trip on a fresh connection: the reply, or null with `failure`.
ReplyPtr ask_once(Connection& conn, Request& request, std::string_view command, Failure& failure) {
  const bool sent = conn.send(request, failure);
  request.clear();
  return sent ? conn.receive(failure, command) : nullptr;
}

std::optional<Endpoint> address_of(const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements != 2 || r.element[0]->type != REDIS_REPLY_STRING ||
      r.element[1]->type != REDIS_REPLY_STRING) {
    return std::nullopt;
  }
  Endpoint e;
  e.host.assign(text_of(*r.element[0]));
  const std::string port(text_of(*r.element[1]));
  e.port = std::atoi(port.c_str());
  if (e.port < 1 || e.port > 65535) return std::nullopt;
  return e;
}

}  // namespace

SentinelTopology::SentinelTopology(SentinelConfig config) : config_(std::move(config)) {}

SentinelTopology::~SentinelTopology() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  std::thread watcher;
  {
    std::lock_guard<std::mutex> lock(resolve_mu_);
    watcher = std::move(watcher_);
  }
  if (watcher.joinable()) watcher.join();
}

Pool& SentinelTopology::pool_at(const Endpoint& endpoint) {
  std::lock_guard<std::mutex> lock(pools_mu_);
  auto& pool = pools_[endpoint.describe()];
  if (!pool) {
    pool = std::make_unique<Pool>(endpoint, config_.pools.connection, config_.pools.size, config_.pools.wait_timeout);
  }
  return *pool;
}

Pool* SentinelTopology::pool_for(std::string_view, std::string_view, Route&, Failure& failure) {
  Pool* master = master_.load(std::memory_order_acquire);
  return master != nullptr ? master : resolve(true, false, &failure);
}

std::vector<Pool*> SentinelTopology::pools(Failure& failure) {
  Pool* master = master_.load(std::memory_order_acquire);
  if (master == nullptr) master = resolve(true, false, &failure);
  if (master == nullptr) return {};
  return {master};
}

bool SentinelTopology::follow(ErrorCause cause, std::string_view, const Pool& from, Route& route) {
  if (cause != ErrorCause::read_only && cause != ErrorCause::master_down && cause != ErrorCause::loading) return false;
  // The node is no longer (or not yet) a usable master: ask the sentinels,
  // waiting a little between attempts while they fail over, within
  // socket_timeout and max_redirects.
  const auto now = Clock::now();
  if (route.backoff_since == Clock::time_point{}) route.backoff_since = now;
  if (++route.redirects > config_.pools.max_redirects) return false;
  const auto step = std::chrono::milliseconds(std::min(100, 10 << std::min(route.redirects, 4)));
  if (now + step - route.backoff_since > config_.pools.connection.socket_timeout) return false;
  Pool* master = resolve(true, false, nullptr);
  if (master == &from || master == nullptr) std::this_thread::sleep_for(step);
  route.pool = nullptr;
  return true;
}

void SentinelTopology::lost() { resolve(false, false, nullptr); }

std::optional<Endpoint> SentinelTopology::ask(const Endpoint& sentinel, std::string& error, Failure& failure) {
  auto conn = Connection::open(sentinel, config_.sentinel_settings, failure);
  if (!conn) {
    error += "; sentinel " + failure.message;
    return std::nullopt;
  }
  Request& request = conn->request();
  request.begin(3).arg("SENTINEL").arg("get-master-addr-by-name").arg(config_.master_name);
  ReplyPtr reply = ask_once(*conn, request, "SENTINEL get-master-addr-by-name", failure);
  if (!reply) {
    error += "; sentinel " + failure.message;
    return std::nullopt;
  }
  if (reply->type == REDIS_REPLY_NIL) {
    failure = {ErrorKind::connection, ""};
    error += "; sentinel " + sentinel.describe() + " knows no master named '" + config_.master_name + "'";
    return std::nullopt;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    failure = conn->reply_failure(*reply, "SENTINEL get-master-addr-by-name");
    error += "; sentinel " + failure.message;
    return std::nullopt;
  }
  auto address = address_of(*reply);
  if (!address) {
    failure = {ErrorKind::protocol, ""};
    error += "; sentinel " + sentinel.describe() + " gave no valid address";
  }
  return address;
}

bool SentinelTopology::is_master(const Endpoint& endpoint, std::string& error, Failure& failure) {
  auto conn = Connection::open(endpoint, config_.pools.connection, failure);
  if (!conn) {
    error += "; master " + failure.message;
    return false;
  }
  Request& request = conn->request();
  request.begin(1).arg("ROLE");
  ReplyPtr reply = ask_once(*conn, request, "ROLE", failure);
  if (!reply) {
    error += "; master " + failure.message;
    return false;
  }
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 && reply->element[0]->type == REDIS_REPLY_STRING &&
      text_of(*reply->element[0]) == "master") {
    return true;
  }
  failure = {ErrorKind::reply, "", ErrorCause::read_only};
  error += "; " + endpoint.describe() + ", named master by the sentinels, is not a master (ROLE)";
  return false;
}

Pool* SentinelTopology::resolve(bool wait, bool force, Failure* failure) {
  std::unique_lock<std::mutex> lock(resolve_mu_, std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return master_.load(std::memory_order_acquire);
  }
  const std::int64_t start = now_ns();
  if (!force && last_attempt_ns_ != 0 && start - last_attempt_ns_ < kMinResolveGapNs) {
    Pool* master = master_.load(std::memory_order_acquire);
    if (master == nullptr && failure != nullptr) *failure = last_failure_;
    return master;
  }
  last_attempt_ns_ = start;

  std::string errors;
  Failure first;
  bool have_first = false;
  for (const auto& sentinel : config_.sentinels) {
    Failure f;
    auto address = ask(sentinel, errors, f);
    if (address && is_master(*address, errors, f)) {
      Pool* master = &pool_at(*address);
      Pool* before = master_.exchange(master, std::memory_order_acq_rel);
      if (before != nullptr && before != master) {
        detail::log()->info("redis sentinel: master '{}' is now {} (was {})", config_.master_name,
                            master->endpoint().describe(), before->endpoint().describe());
      }
      if (!watcher_.joinable() && !stop_) watcher_ = std::thread([this] { watch(); });
      return master;
    }
    if (!have_first) {
      first = f;
      have_first = true;
    }
  }
  last_failure_ = first;
  last_failure_.message =
      "cannot find the master '" + config_.master_name + "' through the sentinels: " + errors.substr(2);
  if (failure != nullptr) *failure = last_failure_;
  return master_.load(std::memory_order_acquire);
}

bool SentinelTopology::wait_for_stop(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  return stop_cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

// The +switch-master subscriber. Each connection asks for the master's
// address (so nothing announced while it was not subscribed is missed), then
// subscribes and reads until a read times out; then it connects again.
void SentinelTopology::watch() {
  ConnectionSettings settings = config_.sentinel_settings;
  settings.socket_timeout = std::min(settings.socket_timeout, kWatchWait);
  std::size_t next = 0;
  while (!stop_) {
    const Endpoint& sentinel = config_.sentinels[next % config_.sentinels.size()];
    Failure failure;
    auto conn = Connection::open(sentinel, settings, failure);
    if (!conn) {
      ++next;  // try the next sentinel after a pause
      if (wait_for_stop(kWatchWait)) return;
      continue;
    }
    Request& request = conn->request();
    request.begin(3).arg("SENTINEL").arg("get-master-addr-by-name").arg(config_.master_name);
    request.begin(2).arg("SUBSCRIBE").arg("+switch-master");
    ReplyPtr address = ask_once(*conn, request, "SENTINEL get-master-addr-by-name", failure);
    if (!address) {
      ++next;
      if (wait_for_stop(kWatchWait)) return;
      continue;
    }
    const auto named = address_of(*address);
    const Pool* current = master_.load(std::memory_order_acquire);
    if (named && (current == nullptr || current->endpoint().describe() != named->describe())) {
      resolve(true, true, nullptr);
    }
    while (!stop_) {
      ReplyPtr message = conn->receive(failure, "SUBSCRIBE +switch-master");
      if (!message) break;  // timed out (the usual case) or lost: connect again
      // ["message", "+switch-master", "<name> <old-ip> <old-port> <new-ip> <new-port>"]
      if (message->type == REDIS_REPLY_ARRAY && message->elements == 3 &&
          message->element[2]->type == REDIS_REPLY_STRING) {
        const std::string_view payload = text_of(*message->element[2]);
        if (payload.substr(0, payload.find(' ')) == config_.master_name) resolve(true, true, nullptr);
      }
    }
  }
}

}  // namespace cachet::redis
