#include "redis/sharded_batch.hpp"

#include <fmt/format.h>

#include <numeric>

namespace cachet::redis {

namespace {

// One node's share of a round.
struct Group {
  Pool* pool = nullptr;
  bool readonly = false;  // READONLY first (a replica serving reads)
  bool asking = false;    // ASKING before every command (an ASK redirect)
  std::vector<std::size_t> keys;
  std::optional<Pool::Lease> lease;  // optional: a Lease is not assignable
};

class Batch {
 public:
  Batch(Commands& c, const char* op, const char* command, std::size_t n, bool read)
      : c_(c), op_(op), command_(command), routes_(n) {  // one Route per key: each follows its own redirects
    for (auto& r : routes_) r.read = read;
    pending_.resize(n);
    std::iota(pending_.begin(), pending_.end(), std::size_t{0});
  }

  /// Runs every round. `key(i)`: the i-th key; `write(request, i)`: its
  /// command; `take(i, reply)`: true when the reply is its answer. True when
  /// every key got its answer.
  template <class KeyAt, class Write, class Take>
  bool run(KeyAt&& key, Write&& write, Take&& take) {
    while (!pending_.empty()) {
      std::vector<Group> groups = group(key);
      for (auto& g : groups) send(g, write);
      std::vector<std::size_t> next;
      std::vector<std::size_t> later;  // TRYAGAIN / CLUSTERDOWN / READONLY / LOADING: after a wait
      ErrorCause later_cause = ErrorCause::unspecified;
      std::string later_text;
      for (auto& g : groups) {
        if (g.lease) receive(g, take, next, later, later_cause, later_text);
      }
      if (!later.empty()) {
        if (c_.topology->follow(later_cause, later_text, *groups.front().pool, backoff_)) {
          for (std::size_t i : later) {
            Route& r = routes_[i];
            r.pool = nullptr;
            r.asking = false;
            r.readonly = false;
            if (later_cause == ErrorCause::read_only) r.read = false;
            next.push_back(i);
          }
        } else {
          note(Failure{ErrorKind::reply, later_text + " (" + command_ + ", retried until socket_timeout)", later_cause});
          failed(later.size());
        }
      }
      pending_ = std::move(next);
    }
    if (failure_) c_.fail(op_, std::move(*failure_));
    return all_ok_;
  }

 private:
  template <class KeyAt>
  std::vector<Group> group(KeyAt& key) {
    std::vector<Group> groups;
    for (std::size_t i : pending_) {
      Route& r = routes_[i];
      Failure f;
      Pool* pool = r.pool != nullptr ? r.pool : c_.topology->pool_for(c_.prefix, key(i), r, f);
      if (pool == nullptr) {
        note(std::move(f));
        failed(1);
        continue;
      }
      Group* g = nullptr;
      for (auto& candidate : groups) {
        if (candidate.pool == pool && candidate.readonly == r.readonly && candidate.asking == r.asking) g = &candidate;
      }
      if (g == nullptr) {
        groups.emplace_back();
        g = &groups.back();
        g->pool = pool;
        g->readonly = r.readonly;
        g->asking = r.asking;
      }
      g->keys.push_back(i);
    }
    return groups;
  }

  template <class Write>
  void send(Group& g, Write& write) {
    Failure f;
    auto lease = g.pool->acquire(f);
    if (lease) {
      Request& request = lease->request();
      request.clear();
      if (g.readonly) request.begin(1).arg("READONLY");
      for (std::size_t i : g.keys) {
        if (g.asking) request.begin(1).arg("ASKING");
        write(request, i);
      }
      const bool sent = lease->send(request, f);
      request.clear();
      if (sent) {
        g.lease.emplace(std::move(lease));
        return;
      }
    }
    c_.lost(f);
    note(std::move(f));
    failed(g.keys.size());
  }

  template <class Take>
  void receive(Group& g, Take& take, std::vector<std::size_t>& next, std::vector<std::size_t>& later,
               ErrorCause& later_cause, std::string& later_text) {
    Connection& conn = **g.lease;
    std::size_t done = 0;
    auto read = [&](const char* command) {
      Failure f;
      ReplyPtr reply = conn.receive(f, command);
      if (!reply) {
        c_.lost(f);
        note(std::move(f));
        failed(g.keys.size() - done);
      }
      return reply;
    };
    if (g.readonly) {
      auto ok = read("READONLY");
      if (!ok) return;
      if (!is_ok(*ok)) conn.mark_broken();
    }
    for (std::size_t i : g.keys) {
      if (g.asking && !read("ASKING")) return;
      ReplyPtr reply = read(command_);
      if (!reply) return;
      ++done;
      if (take(i, *reply)) continue;
      if (reply->type == REDIS_REPLY_ERROR) {
        const std::string_view text(reply->str, reply->len);
        const ErrorCause cause = reply_cause(text);
        Route& r = routes_[i];
        r.used = g.pool;
        if ((cause == ErrorCause::moved || cause == ErrorCause::ask) && c_.topology->follow(cause, text, *g.pool, r)) {
          next.push_back(i);
          continue;
        }
        if (cause == ErrorCause::try_again || cause == ErrorCause::cluster_down || cause == ErrorCause::read_only ||
            cause == ErrorCause::loading) {
          if (later.empty()) {
            later_cause = cause;
            later_text.assign(text);
          }
          later.push_back(i);
          if (cause == ErrorCause::read_only) conn.mark_broken();
          continue;
        }
        note(conn.reply_failure(*reply, command_));
      } else {
        conn.mark_broken();  // out of step with the server
        note(Failure{ErrorKind::protocol,
                     fmt::format("protocol error: unexpected reply to {} ({})", command_, conn.endpoint_name())});
      }
      failed(1);
    }
  }

  void note(Failure&& f) {
    if (!failure_) failure_ = std::move(f);
  }
  void failed(std::size_t keys) {
    if (keys > 0) all_ok_ = false;
  }

  Commands& c_;
  const char* op_;
  const char* command_;
  std::vector<Route> routes_;
  std::vector<std::size_t> pending_;
  Route backoff_;  // the batch's TRYAGAIN / CLUSTERDOWN waits, bounded by socket_timeout
  std::optional<Failure> failure_;
  bool all_ok_ = true;
};

}  // namespace

std::vector<std::optional<std::string>> sharded_get_many(Commands& c, const std::vector<std::string_view>& keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  Batch batch(c, "get_many", "GET", keys.size(), true);
  batch.run([&](std::size_t i) { return keys[i]; },
            [&](Request& r, std::size_t i) { r.begin(2).arg("GET").arg(c.prefix, keys[i]); },
            [&](std::size_t i, const redisReply& reply) {
              if (reply.type == REDIS_REPLY_STRING) out[i].emplace(reply.str, reply.len);
              return reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_NIL;
            });
  return out;
}

bool sharded_set_many(Commands& c, const std::vector<std::pair<std::string_view, std::string_view>>& items,
                      Ttl resolved) {
  Batch batch(c, "set_many", "SET", items.size(), false);
  return batch.run([&](std::size_t i) { return items[i].first; },
                   [&](Request& r, std::size_t i) { c.set_command(r, items[i].first, items[i].second, resolved, false); },
                   [&](std::size_t, const redisReply& reply) { return is_ok(reply); });
}

std::size_t sharded_remove_many(Commands& c, const std::vector<std::string_view>& keys) {
  std::size_t removed = 0;
  Batch batch(c, "remove_many", "UNLINK", keys.size(), false);
  batch.run([&](std::size_t i) { return keys[i]; },
            [&](Request& r, std::size_t i) { r.begin(2).arg("UNLINK").arg(c.prefix, keys[i]); },
            [&](std::size_t, const redisReply& reply) {
              if (reply.type != REDIS_REPLY_INTEGER) return false;
              removed += static_cast<std::size_t>(std::max<long long>(reply.integer, 0));
              return true;
            });
  return removed;
}

}  // namespace cachet::redis
