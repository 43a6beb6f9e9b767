#include "redis/node_channels.hpp"

#include <algorithm>
#include <utility>

#include "redis/invalidation_channel.hpp"

namespace cachet::redis {

// Passes one node's reports on to the NodeChannels (which serialises them).
class NodeChannels::Relay final : public InvalidationListener {
 public:
  Relay(NodeChannels& owner, std::string node) : owner_(owner), node_(std::move(node)) {}

  void invalidate(std::string_view key) override {
    std::lock_guard<std::mutex> lock(owner_.listener_mu_);
    owner_.listener_->invalidate(key);
  }
  void invalidate_all() override {
    std::lock_guard<std::mutex> lock(owner_.listener_mu_);
    owner_.listener_->invalidate_all();
  }
  void channel_lost(std::string_view why) override { owner_.relay_lost(node_ + ": " + std::string(why)); }
  void channel_ready() override { owner_.relay_ready(); }
  void tick() override {}  // the supervisor ticks the listener, once for all nodes

 private:
  NodeChannels& owner_;
  const std::string node_;
};

struct NodeChannels::Node {
  std::string name;  // Endpoint::describe()
  std::unique_ptr<Relay> relay;
  std::unique_ptr<RedisInvalidationChannel> channel;
};

NodeChannels::NodeChannels(std::unique_ptr<Topology> discovery, ConnectionSettings settings, std::string prefix,
                           InvalidationOptions options, std::chrono::milliseconds pool_wait, std::string note)
    : discovery_(std::move(discovery)),
      settings_(std::move(settings)),
      prefix_(std::move(prefix)),
      options_(options),
      pool_wait_(pool_wait),
      note_(std::move(note)) {}

NodeChannels::~NodeChannels() { stop(); }

void NodeChannels::start(InvalidationListener& listener) {
  listener_ = &listener;
  reconcile();
  thread_ = std::thread([this] { supervise(); });
}

void NodeChannels::stop() noexcept {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stop_) return;
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::shared_ptr<Node>> nodes;
  {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    nodes.swap(nodes_);
  }
  for (auto& n : nodes) n->channel->stop();
}

// A node that fell back to pubsub sets the mode of all: its subscribers see
// only what cachet processes publish, so every write must be published.
InvalidationMode NodeChannels::mode() const noexcept {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  if (nodes_.empty()) return options_.mode;
  return publisher_locked() ? InvalidationMode::pubsub : nodes_.front()->channel->mode();
}

std::shared_ptr<NodeChannels::Node> NodeChannels::publisher_locked() const {
  for (const auto& n : nodes_) {
    if (n->channel->mode() == InvalidationMode::pubsub) return n;
  }
  return nullptr;
}

std::string NodeChannels::mode_reason() const {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  if (nodes_.empty()) {
    return std::string(to_string(options_.mode)) + " (no master known yet" +
           (discovery_error_.empty() ? std::string() : ": " + discovery_error_) + ")";
  }
  const auto pubsub = publisher_locked();
  const auto& first = pubsub ? *pubsub->channel : *nodes_.front()->channel;  // the one that decides mode()
  std::string reason = first.mode_reason();
  if (!note_.empty() && first.mode() == options_.mode) {
    reason = std::string(to_string(first.mode())) + " (" + note_ + ")";
  }
  if (pubsub) reason += " (on " + pubsub->name + ")";
  reason += "; a channel per master:";
  for (const auto& n : nodes_) reason += " " + n->name;
  return reason;
}

bool NodeChannels::ready() const noexcept {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  if (nodes_.empty()) return false;
  return std::all_of(nodes_.begin(), nodes_.end(), [](const auto& n) { return n->channel->ready(); });
}

// Through any node in pubsub mode: one PUBLISH reaches every node's
// subscribers (Cluster forwards messages over its bus; Sentinel has one
// master). With every node on bcast there is nothing to publish.
void NodeChannels::wrote(const std::vector<std::string_view>& keys) noexcept {
  std::shared_ptr<Node> node;
  {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    node = publisher_locked();
  }
  if (node) node->channel->wrote(keys);
}

void NodeChannels::cleared() noexcept {
  std::shared_ptr<Node> node;
  {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    node = publisher_locked();
  }
  if (node) node->channel->cleared();
}

bool NodeChannels::write_from_outside(std::string_view key, std::string_view value, std::string& error) {
  Route route;
  Failure failure;
  Pool* owner = discovery_->pool_for(prefix_, key, route, failure);
  if (owner == nullptr) {
    error = failure.message;
    return false;
  }
  const std::string name = owner->endpoint().describe();
  std::shared_ptr<Node> node;
  {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    for (const auto& n : nodes_) {
      if (n->name == name) node = n;
    }
  }
  if (!node) {
    error = "no invalidation channel on " + name + " (the master of the key) yet";
    return false;
  }
  return node->channel->write_from_outside(key, value, error);
}

void NodeChannels::reconcile() {
  if (!ready()) discovery_->lost();  // a lost node may mean a failover: ask the topology afresh
  Failure failure;
  const std::vector<Pool*> masters = discovery_->pools(failure);
  if (masters.empty()) {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    discovery_error_ = failure.message;
    return;  // keep the channels there are: the topology could not be read now
  }
  std::vector<std::string> names;
  for (Pool* p : masters) names.push_back(p->endpoint().describe());

  std::vector<std::shared_ptr<Node>> gone;
  std::vector<std::shared_ptr<Node>> added;
  {
    std::lock_guard<std::mutex> lock(nodes_mu_);
    discovery_error_.clear();
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      if (std::find(names.begin(), names.end(), (*it)->name) == names.end()) {
        gone.push_back(*it);
        it = nodes_.erase(it);
      } else {
        ++it;
      }
    }
    for (std::size_t i = 0; i < masters.size(); ++i) {
      const bool known = std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& n) { return n->name == names[i]; });
      if (known) continue;
      auto node = std::make_shared<Node>();
      node->name = names[i];
      node->relay = std::make_unique<Relay>(*this, names[i]);
      node->channel = std::make_unique<RedisInvalidationChannel>(masters[i]->endpoint(), settings_, prefix_, options_,
                                                                  pool_wait_, nullptr);
      added.push_back(node);
      nodes_.push_back(std::move(node));
    }
  }
  // A master without a registered channel yet: its changes would go unseen.
  if (!added.empty()) {
    std::lock_guard<std::mutex> lock(listener_mu_);
    if (outer_ready_) {
      outer_ready_ = false;
      listener_->channel_lost("master " + added.front()->name + " has no invalidation channel yet");
    }
  }
  for (auto& n : gone) n->channel->stop();
  for (auto& n : added) n->channel->start(*n->relay);
  if (!gone.empty()) relay_ready();  // the node that held the set back may be the one removed
}

void NodeChannels::relay_lost(std::string_view why) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  outer_ready_ = false;
  listener_->channel_lost(why);
}

void NodeChannels::relay_ready() {
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (outer_ready_ || !ready()) return;
  outer_ready_ = true;
  listener_->channel_ready();
}

void NodeChannels::supervise() {
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, options_.heartbeat, [this] { return stop_; })) {
    lock.unlock();
    reconcile();
    {
      std::lock_guard<std::mutex> guard(listener_mu_);
      listener_->tick();
    }
    lock.lock();
  }
}

}  // namespace cachet::redis
