#include "support/redis_cluster.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/net.hpp"

namespace cachet::test {

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace

bool redis_cli_available() { return ::access("/usr/bin/redis-cli", X_OK) == 0; }

RedisCluster::RedisCluster(int replicas_per_master, std::optional<RedisServer::TlsFiles> tls) : tls_(tls.has_value()) {
  char tmpl[] = "/tmp/cachet-cluster-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("RedisCluster: mkdtemp failed");
  dir_ = tmpl;
  for (int i = 0; i < 3 * (1 + replicas_per_master); ++i) {
    RedisServer::Options so;
    // The bus port is chosen too: port + 10000 may not be free, or not exist.
    so.args = {"--cluster-enabled", "yes", "--cluster-node-timeout", "1000", "--cluster-config-file", "nodes.conf",
               "--cluster-port", std::to_string(free_loopback_port()), "--cluster-require-full-coverage", "yes"};
    if (tls) {
      so.tls = tls;
      so.args.insert(so.args.end(), {"--tls-cluster", "yes", "--tls-replication", "yes"});
    }
    nodes_.push_back(std::make_unique<RedisServer>(so));
  }
  std::vector<std::string> args;
  if (tls) {
    args = {"--tls", "--cacert", tls->ca_cert_file};
    if (tls->auth_clients) args.insert(args.end(), {"--cert", tls->cert_file, "--key", tls->key_file});
  }
  args.insert(args.end(), {"--cluster", "create"});
  for (const auto& n : nodes_) args.push_back("127.0.0.1:" + std::to_string(n->port()));
  args.insert(args.end(), {"--cluster-replicas", std::to_string(replicas_per_master), "--cluster-yes"});
  cli(args);
  if (!wait_ok(std::chrono::seconds(30))) throw std::runtime_error("RedisCluster: not ok within 30 s");
}

RedisCluster::~RedisCluster() {
  nodes_.clear();  // each RedisServer kills its process and removes its directory
  const std::string cmd = "rm -rf " + quote(dir_);
  if (std::system(cmd.c_str()) != 0) {
    // best effort
  }
}

std::string RedisCluster::url() const {
  std::string url = tls_ ? "rediss+cluster://" : "redis+cluster://";
  for (int i = 0; i < 3; ++i) url += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(nodes_[i]->port());
  return url;
}

std::string RedisCluster::cli(const std::vector<std::string>& args) const {
  const std::string out = dir_ + "/cli.out";
  // Bounded: `--cluster create` waits for the nodes to join for as long as it takes.
  std::string cmd = "timeout 60 /usr/bin/redis-cli";
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(out) + " 2>&1 </dev/null";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  if (rc != 0) throw std::runtime_error("redis-cli failed (" + std::to_string(rc) + "): " + cmd + "\n" + ss.str());
  return ss.str();
}

std::vector<RedisServer*> RedisCluster::masters() const {
  std::vector<RedisServer*> out;
  for (const auto& n : nodes_) {
    if (!n->running()) continue;
    try {
      if (lines(n->command({"ROLE"})).front() == "master") out.push_back(n.get());
    } catch (const std::exception&) {
      // not answering: not a master we can use
    }
  }
  return out;
}

RedisServer& RedisCluster::master_of_slot(int slot) const {
  // CLUSTER NODES: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot or range>...
  for (const auto& n : nodes_) {
    if (!n->running()) continue;
    try {
      for (const auto& line : lines(n->command({"CLUSTER", "NODES"}))) {
        std::istringstream in(line);
        std::vector<std::string> f;
        for (std::string w; in >> w;) f.push_back(w);
        if (f.size() < 9 || f[2].find("master") == std::string::npos || f[2].find("fail") != std::string::npos) continue;
        for (std::size_t i = 8; i < f.size(); ++i) {
          if (f[i].front() == '[') continue;  // a migration in progress
          const auto dash = f[i].find('-');
          const int first = std::stoi(f[i].substr(0, dash));
          const int last = dash == std::string::npos ? first : std::stoi(f[i].substr(dash + 1));
          if (slot < first || slot > last) continue;
          const auto colon = f[1].find(':');
          const int port = std::stoi(f[1].substr(colon + 1, f[1].find('@') - colon - 1));
          for (const auto& m : nodes_) {
            if (m->port() == port) return *m;
          }
        }
      }
      break;  // one live node's view is enough
    } catch (const std::exception&) {
    }
  }
  throw std::runtime_error("RedisCluster: no running node knows slot " + std::to_string(slot));
}

std::string RedisCluster::node_id(const RedisServer& node) const { return node.command({"CLUSTER", "MYID"}); }

bool RedisCluster::wait_ok(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool ok = true;
    std::set<std::string> views;
    for (const auto& n : nodes_) {
      if (!n->running()) continue;
      try {
        if (n->command({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) ok = false;
        // Every node's view of the masters and their slots, without the
        // per-node flags ("myself") and link state.
        std::string view;
        for (const auto& line : lines(n->command({"CLUSTER", "NODES"}))) {
          std::istringstream in(line);
          std::vector<std::string> f;
          for (std::string w; in >> w;) f.push_back(w);
          if (f.size() < 8 || f[2].find("master") == std::string::npos || f[2].find("fail") != std::string::npos) {
            continue;
          }
          if (f.size() == 8) continue;  // a master without slots
          std::string slots;
          for (std::size_t i = 8; i < f.size(); ++i) {
            if (f[i].find("->-") != std::string::npos || f[i].find("-<-") != std::string::npos) ok = false;
            slots += f[i] + ' ';
          }
          view += f[1].substr(0, f[1].find('@')) + ' ' + slots + '\n';
        }
        std::vector<std::string> sorted = lines(view);
        std::sort(sorted.begin(), sorted.end());
        std::string joined;
        for (const auto& l : sorted) joined += l + '\n';
        views.insert(joined);
        const auto role = lines(n->command({"ROLE"}));
        if (role.front() == "slave" && (role.size() < 4 || role[3] != "connected")) ok = false;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (ok && views.size() == 1) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

RedisCluster& shared_cluster() {
  static std::unique_ptr<RedisCluster> cluster = std::make_unique<RedisCluster>();
  return *cluster;
}

}  // namespace cachet::test
