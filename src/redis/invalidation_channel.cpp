// The Redis invalidation channel; see invalidation_channel.hpp.
#include "redis/invalidation_channel.hpp"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "cachet/errors.hpp"
#include "cachet/redis_cache.hpp"
#include "core/log.hpp"
#include "redis/settings.hpp"

namespace cachet::redis {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kSlice{50};  // longest wait before stop() / a pending loss is noticed
constexpr std::string_view kTrackingChannel = "__redis__:invalidate";

bool is(const redisReply& r, int type) { return r.type == type; }
std::string_view text(const redisReply& r) { return {r.str, r.len}; }

std::string random_sender() {
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(rd()) + std::to_string(rd());
}

// Sends `request` and reads one reply per command; the first error reply's
// text goes to `refused` (the connection stays usable). False and `why` on a
// transport failure.
bool round_trip(Connection& c, Request& request, std::vector<ReplyPtr>& replies, std::string& why) {
  Failure failure;
  if (!c.send(request, failure)) {
    why = failure.message;
    return false;
  }
  for (std::size_t i = 0; i < request.commands(); ++i) {
    auto reply = c.receive(failure, "invalidation channel");
    if (!reply) {
      why = failure.message;
      return false;
    }
    replies.push_back(std::move(reply));
  }
  return true;
}

}  // namespace

RedisInvalidationChannel::RedisInvalidationChannel(Endpoint endpoint, ConnectionSettings settings,
                                                   std::string prefix, InvalidationOptions options,
                                                   milliseconds pool_wait, std::shared_ptr<TrackingSetup> setup)
    : endpoint_(std::move(endpoint)),
      settings_(std::move(settings)),
      prefix_(std::move(prefix)),
      options_(options),
      pubsub_channel_(prefix_ + "__cachet_invalidate"),
      sender_(random_sender()),
      setup_(std::move(setup)),
      publisher_(endpoint_, settings_, 2, pool_wait),
      mode_(options.mode),
      reason_(std::string(to_string(options.mode)) + " (requested)") {}

RedisInvalidationChannel::~RedisInvalidationChannel() { stop(); }

std::string RedisInvalidationChannel::mode_reason() const {
  std::lock_guard<std::mutex> lock(reason_mu_);
  return reason_;
}

void RedisInvalidationChannel::start(InvalidationListener& listener) {
  listener_ = &listener;
  std::string why;
  if (connect(why)) {
    ready_.store(true);
    listener_->channel_ready();
  } else {
    detail::log()->warn("cachet hybrid: invalidation channel to {} not registered yet ({}); L1 bypassed until it is",
                        endpoint_.describe(), why);
  }
  thread_ = std::thread([this] { run(); });
}

void RedisInvalidationChannel::stop() noexcept {
  std::lock_guard<std::mutex> lock(stop_mu_);
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  session_ = Session{};
  ready_.store(false);
}

void RedisInvalidationChannel::sleep_unless_stopped(milliseconds d) {
  const auto until = Clock::now() + d;
  while (!stop_.load() && Clock::now() < until) std::this_thread::sleep_for(std::min(kSlice, d));
}

void RedisInvalidationChannel::fall_back_to_pubsub(const std::string& why) {
  mode_.store(InvalidationMode::pubsub);
  if (setup_) setup_->cancel();  // data connections stop redirecting to a subscriber that is gone
  {
    std::lock_guard<std::mutex> lock(reason_mu_);
    reason_ = "pubsub: CLIENT TRACKING refused (" + why + "), fell back; writers outside cachet are not seen";
  }
  detail::log()->warn("cachet hybrid: {} ({})", mode_reason(), endpoint_.describe());
}

bool RedisInvalidationChannel::subscribe(Session& s, std::string& why) {
  Failure failure;
  s.subscriber = Connection::open(endpoint_, settings_, failure);
  if (!s.subscriber) {
    why = failure.message;
    return false;
  }
  const bool pubsub = mode_.load() == InvalidationMode::pubsub;
  Request& r = s.subscriber->request();
  r.clear();
  r.begin(2).arg("CLIENT").arg("ID");
  r.begin(2).arg("SUBSCRIBE").arg(pubsub ? std::string_view(pubsub_channel_) : kTrackingChannel);
  std::vector<ReplyPtr> replies;
  const bool ok = round_trip(*s.subscriber, r, replies, why);
  r.clear();
  if (!ok) return false;
  if (!is(*replies[0], REDIS_REPLY_INTEGER) || !is(*replies[1], REDIS_REPLY_ARRAY)) {
    why = "unexpected reply to CLIENT ID / SUBSCRIBE";
    return false;
  }
  s.id = replies[0]->integer;
  return true;
}

// bcast: the control connection's own registration. tracking: a trial
// registration (then off), and the data connections register through the
// TrackingSetup. `refused`: the server answered CLIENT TRACKING with an error.
bool RedisInvalidationChannel::register_tracking(Session& s, std::string& why, bool& refused) {
  refused = false;
  Failure failure;
  s.control = Connection::open(endpoint_, settings_, failure);
  if (!s.control) {
    why = failure.message;
    return false;
  }
  const bool bcast = mode_.load() == InvalidationMode::bcast;
  Request& r = s.control->request();
  r.clear();
  const std::string id = std::to_string(s.id);
  if (bcast) {
    r.begin(prefix_.empty() ? 6 : 8).arg("CLIENT").arg("TRACKING").arg("on").arg("REDIRECT").arg(id).arg("BCAST");
    if (!prefix_.empty()) r.arg("PREFIX").arg(prefix_);
  } else {
    r.begin(6).arg("CLIENT").arg("TRACKING").arg("on").arg("REDIRECT").arg(id).arg("NOLOOP");
    r.begin(3).arg("CLIENT").arg("TRACKING").arg("off");
  }
  std::vector<ReplyPtr> replies;
  const bool ok = round_trip(*s.control, r, replies, why);
  r.clear();
  if (!ok) return false;
  if (is(*replies[0], REDIS_REPLY_ERROR)) {
    refused = true;
    why = std::string(text(*replies[0]));
    return false;
  }
  if (!bcast && setup_) setup_->renew(s.id);
  return true;
}

bool RedisInvalidationChannel::connect(std::string& why) {
  Session s;
  if (!subscribe(s, why)) return false;
  if (mode_.load() != InvalidationMode::pubsub) {
    bool refused = false;
    if (!register_tracking(s, why, refused)) {
      if (!refused) return false;
      fall_back_to_pubsub(why);
      return connect(why);  // subscribe again, to the pubsub channel
    }
  }
  session_ = std::move(s);
  return true;
}

void RedisInvalidationChannel::run() {
  milliseconds backoff{50};
  while (!stop_.load()) {
    if (!ready_.load()) {
      std::string why;
      if (!connect(why)) {
        session_ = Session{};
        sleep_unless_stopped(backoff);
        backoff = std::min(backoff * 2, std::max(options_.heartbeat, milliseconds(100)));
        if (listener_) listener_->tick();
        continue;
      }
      backoff = milliseconds(50);
      ready_.store(true);
      listener_->channel_ready();
    }
    const std::string why = serve();
    ready_.store(false);
    session_ = Session{};
    if (stop_.load()) break;
    listener_->channel_lost(why);
  }
}

std::string RedisInvalidationChannel::check_control() {
  Session& s = session_;
  if (!s.control) return "";
  std::vector<long long> ids;
  Request& r = s.control->request();
  r.clear();
  r.begin(1).arg("PING");
  if (mode_.load() == InvalidationMode::tracking && setup_) {
    ids = setup_->ids();
    if (!ids.empty()) {
      r.begin(ids.size() + 3).arg("CLIENT").arg("LIST").arg("ID");
      for (long long id : ids) r.arg_int(id);
    }
  }
  std::vector<ReplyPtr> replies;
  std::string why;
  const bool ok = round_trip(*s.control, r, replies, why);
  r.clear();
  if (!ok) return "control connection: " + why;
  if (replies.size() > 1 && is(*replies[1], REDIS_REPLY_STRING)) {
    const std::string_view list = text(*replies[1]);
    for (long long id : ids) {
      if (list.find("id=" + std::to_string(id) + " ") == std::string_view::npos) setup_->vanished(id);
    }
  }
  return "";
}

std::string RedisInvalidationChannel::serve() {
  const milliseconds half = std::max(options_.heartbeat / 2, milliseconds(5));
  auto next_ping = Clock::now() + half;
  bool awaiting_pong = false;
  Request ping;
  ping.begin(1).arg("PING");
  while (!stop_.load()) {
    if (setup_) {
      const std::string lost = setup_->take_loss();
      if (!lost.empty()) return lost;
    }
    if (Clock::now() >= next_ping) {
      if (awaiting_pong) return "heartbeat unanswered for " + std::to_string(half.count()) + " ms";
      // The control round trip first: its time is not the subscriber's.
      if (const std::string why = check_control(); !why.empty()) return why;
      Failure failure;
      if (!session_.subscriber->send(ping, failure)) return failure.message;
      awaiting_pong = true;
      next_ping = Clock::now() + half;
      listener_->tick();
    }
    bool timed_out = false;
    Failure failure;
    auto reply = session_.subscriber->receive_until(
        net::Wait::until(std::min(next_ping, Clock::now() + kSlice)), timed_out, failure);
    if (!reply) {
      if (timed_out) continue;
      return failure.message;
    }
    bool pong = false;
    dispatch(*reply, pong);
    if (pong) awaiting_pong = false;
  }
  return "stopped";
}

// RESP2 pub/sub frames: ["message", channel, payload], ["pong", ""],
// ["subscribe", channel, n].
void RedisInvalidationChannel::dispatch(const redisReply& reply, bool& pong) {
  if (!is(reply, REDIS_REPLY_ARRAY) || reply.elements < 2 || !is(*reply.element[0], REDIS_REPLY_STRING)) return;
  const std::string_view kind = text(*reply.element[0]);
  if (kind == "pong") {
    pong = true;
  } else if (kind == "message" && reply.elements == 3) {
    on_message(*reply.element[2]);
  }
}

void RedisInvalidationChannel::on_message(const redisReply& payload) {
  if (mode_.load() == InvalidationMode::pubsub) {
    // "<kind><sender>:<key>": kind 'k' a key, 'c' a clear of the prefix.
    if (!is(payload, REDIS_REPLY_STRING) || payload.len < 2) return;
    const std::string_view m = text(payload);
    const auto colon = m.find(':');
    if (colon == std::string_view::npos || m.substr(1, colon - 1) == sender_) return;
    if (m[0] == 'c') listener_->invalidate_all();
    if (m[0] == 'k') listener_->invalidate(m.substr(colon + 1));
    return;
  }
  if (is(payload, REDIS_REPLY_NIL)) {  // FLUSHDB / FLUSHALL
    listener_->invalidate_all();
    return;
  }
  if (!is(payload, REDIS_REPLY_ARRAY)) return;
  for (std::size_t i = 0; i < payload.elements; ++i) {
    const redisReply& k = *payload.element[i];
    if (!is(k, REDIS_REPLY_STRING)) continue;
    const std::string_view key = text(k);
    if (key.substr(0, prefix_.size()) == prefix_) listener_->invalidate(key.substr(prefix_.size()));
  }
}

void RedisInvalidationChannel::publish(char kind, const std::vector<std::string_view>& keys,
                                       const std::string& sender) noexcept {
  try {
    Failure failure;
    auto lease = publisher_.acquire(failure);
    if (lease) {
      Request& r = lease->request();
      r.clear();
      const std::string head = std::string(1, kind) + sender + ":";
      for (auto k : keys) r.begin(3).arg("PUBLISH").arg(pubsub_channel_).arg(head, k);
      std::vector<ReplyPtr> replies;
      std::string why;
      const bool ok = round_trip(*lease, r, replies, why);
      r.clear();
      if (ok) return;
      failure.message = why;
    }
    static detail::RateLimiter limiter;
    detail::log_limited(limiter, spdlog::level::warn,
                        "cachet hybrid: PUBLISH of an invalidation failed (" + failure.message +
                            "); other processes may serve the old value until their l1_max_ttl");
  } catch (...) {
    // Out of memory while logging: nothing more to do.
  }
}

void RedisInvalidationChannel::wrote(const std::vector<std::string_view>& keys) noexcept {
  if (mode_.load() == InvalidationMode::pubsub && !keys.empty()) publish('k', keys, sender_);
}

void RedisInvalidationChannel::cleared() noexcept {
  if (mode_.load() == InvalidationMode::pubsub) publish('c', {std::string_view()}, sender_);
}

bool RedisInvalidationChannel::write_from_outside(std::string_view key, std::string_view value, std::string& error) {
  Failure failure;
  auto lease = publisher_.acquire(failure);
  if (!lease) {
    error = failure.message;
    return false;
  }
  Request& r = lease->request();
  r.clear();
  r.begin(5).arg("SET").arg(prefix_, key).arg(value).arg("PX").arg("10000");
  std::vector<ReplyPtr> replies;
  const bool ok = round_trip(*lease, r, replies, error);
  r.clear();
  if (!ok) return false;
  if (is(*replies[0], REDIS_REPLY_ERROR)) {
    error = std::string(text(*replies[0]));
    return false;
  }
  // pubsub: as another cachet process would (its own sender id).
  if (mode_.load() == InvalidationMode::pubsub) publish('k', {key}, "outside-" + sender_);
  return true;
}

}  // namespace cachet::redis
