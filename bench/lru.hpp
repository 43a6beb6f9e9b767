// bench/lru.hpp — the in-memory baseline: one std::mutex around a
// std::unordered_map + std::list LRU, the textbook design.
//
// Made as fast as that design honestly allows, so that ratios against it mean
// something: the index is keyed by string_views into the list nodes (no
// temporary std::string per lookup), the table is reserved up front, and get
// returns a copy of the value exactly like Cache::get. No TTLs.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cachet::bench {

class LockedLru {
 public:
  explicit LockedLru(std::size_t capacity) : capacity_(capacity) { index_.reserve(capacity); }

  std::optional<std::string> get(std::string_view key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  void set(std::string_view key, std::string_view value) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      it->second->value.assign(value.data(), value.size());
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    if (index_.size() >= capacity_) {
      index_.erase(std::string_view(order_.back().key));
      order_.pop_back();
    }
    order_.push_front(Node{std::string(key), std::string(value)});
    index_.emplace(std::string_view(order_.front().key), order_.begin());
  }

  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return index_.size();
  }

 private:
  struct Node {
    std::string key;
    std::string value;
  };
  std::mutex mu_;
  std::size_t capacity_;
  std::list<Node> order_;  // front = most recently used
  std::unordered_map<std::string_view, std::list<Node>::iterator> index_;
};

}  // namespace cachet::bench
