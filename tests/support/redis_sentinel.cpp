#include "support/redis_sentinel.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/net.hpp"

namespace cachet::test {

RedisSentinelSet::RedisSentinelSet() {
  char tmpl[] = "/tmp/cachet-sentinel-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("RedisSentinelSet: mkdtemp failed");
  dir_ = tmpl;
  data_.push_back(std::make_unique<RedisServer>());
  RedisServer::Options replica;
  replica.args = {"--replicaof", "127.0.0.1", std::to_string(data_[0]->port())};
  data_.push_back(std::make_unique<RedisServer>(replica));
  for (int i = 0; i < 3; ++i) {
    const std::string conf = dir_ + "/sentinel" + std::to_string(i) + ".conf";
    std::ofstream out(conf);
    out << "sentinel monitor " << kMaster << " 127.0.0.1 " << data_[0]->port() << " 2\n"
        << "sentinel down-after-milliseconds " << kMaster << " 1000\n"
        << "sentinel failover-timeout " << kMaster << " 5000\n"
        << "requirepass " << kPassword << "\n"
        << "sentinel sentinel-pass " << kPassword << "\n";
    out.close();
    RedisServer::Options so;
    so.config_file = conf;
    so.sentinel = true;
    so.password = kPassword;
    sentinels_.push_back(std::make_unique<RedisServer>(so));
  }
  if (!wait_stable()) throw std::runtime_error("RedisSentinelSet: sentinels not ready within 30 s");
}

RedisSentinelSet::~RedisSentinelSet() {
  sentinels_.clear();
  data_.clear();
  const std::string cmd = "rm -rf '" + dir_ + "'";
  if (std::system(cmd.c_str()) != 0) {
    // best effort
  }
}

std::string RedisSentinelSet::url() const {
  std::string url = "redis+sentinel://";
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    url += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(sentinels_[i]->port());
  }
  return url + "/" + kMaster + "?sentinel_password=" + kPassword;
}

std::string RedisSentinelSet::named_master() const {
  for (const auto& s : sentinels_) {
    if (!s->running()) continue;
    try {
      const std::string addr = s->command({"SENTINEL", "get-master-addr-by-name", kMaster});
      const auto nl = addr.find('\n');
      if (nl != std::string::npos) return addr.substr(nl + 1);
    } catch (const std::exception&) {
    }
  }
  return "";
}

RedisServer& RedisSentinelSet::master() const {
  const std::string port = named_master();
  for (const auto& d : data_) {
    if (std::to_string(d->port()) == port) return *d;
  }
  throw std::runtime_error("RedisSentinelSet: no sentinel names a known master");
}

RedisServer& RedisSentinelSet::replica() const {
  RedisServer& m = master();
  return data_[0].get() == &m ? *data_[1] : *data_[0];
}

bool RedisSentinelSet::wait_stable(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      bool ok = true;
      const std::string port = named_master();
      for (const auto& s : sentinels_) {
        if (!s->running()) continue;
        const std::string info = s->command({"SENTINEL", "master", kMaster});
        ok = ok && info.find("num-slaves\n1\n") != std::string::npos &&
             info.find("num-other-sentinels\n2\n") != std::string::npos &&
             info.find("\nport\n" + port + "\n") != std::string::npos &&
             info.find("s_down") == std::string::npos && info.find("failover_in_progress") == std::string::npos;
      }
      RedisServer& m = master();
      RedisServer& r = replica();
      ok = ok && m.running() && r.running() && m.command({"ROLE"}).rfind("master", 0) == 0 &&
           r.command({"ROLE"}).find("\nconnected") != std::string::npos &&
           r.command({"ROLE"}).find("\n" + port + "\n") != std::string::npos;
      if (ok) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

RedisSentinelSet& shared_sentinels() {
  static std::unique_ptr<RedisSentinelSet> set = std::make_unique<RedisSentinelSet>();
  return *set;
}

}  // namespace cachet::test
