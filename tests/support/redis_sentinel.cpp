#include "support/redis_sentinel.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/net.hpp"
#include "support/tls_certs.hpp"

namespace cachet::test {

RedisSentinelSet::RedisSentinelSet(std::optional<RedisServer::TlsFiles> tls) : tls_(tls.has_value()) {
  char tmpl[] = "/tmp/cachet-sentinel-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("RedisSentinelSet: mkdtemp failed");
  dir_ = tmpl;
  // tls-replication: the replica's link to the master, and (on a sentinel)
  // its links to the data nodes and the other sentinels, are TLS.
  const std::vector<std::string> tls_links = {"--tls-replication", "yes"};
  RedisServer::Options master;
  master.tls = tls;
  if (tls) master.args = tls_links;
  data_.push_back(std::make_unique<RedisServer>(master));
  RedisServer::Options replica = master;
  replica.args.insert(replica.args.end(), {"--replicaof", "127.0.0.1", std::to_string(data_[0]->port())});
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
    so.tls = tls;
    if (tls) so.args = tls_links;
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
  std::string url = tls_ ? "rediss+sentinel://" : "redis+sentinel://";
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

RedisSentinelSet& shared_tls_sentinels() {
  const TlsCerts& certs = TlsCerts::shared();  // made first, so removed after the servers stop
  static std::unique_ptr<RedisSentinelSet> set = [&certs] {
    RedisServer::TlsFiles files;
    files.cert_file = certs.node_cert;
    files.key_file = certs.node_key;
    files.ca_cert_file = certs.ca_cert;
    return std::make_unique<RedisSentinelSet>(files);
  }();
  return *set;
}

}  // namespace cachet::test
