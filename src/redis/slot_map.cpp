#include "redis/slot_map.hpp"

#include <hiredis/hiredis.h>

#include "redis/crc16.hpp"

namespace cachet::redis {

namespace {

std::optional<Endpoint> node_endpoint(const redisReply& node, std::string_view answering_host) {
  if (node.type != REDIS_REPLY_ARRAY || node.elements < 2) return std::nullopt;
  const redisReply& ip = *node.element[0];
  const redisReply& port = *node.element[1];
  if (ip.type != REDIS_REPLY_STRING || port.type != REDIS_REPLY_INTEGER) return std::nullopt;
  if (port.integer < 1 || port.integer > 65535) return std::nullopt;
  Endpoint e;
  const std::string_view host(ip.str, ip.len);
  e.host = host.empty() || host == "?" ? std::string(answering_host) : std::string(host);
  e.port = static_cast<int>(port.integer);
  return e;
}

}  // namespace

std::optional<std::vector<SlotRange>> parse_cluster_slots(const redisReply& reply, std::string_view answering_host,
                                                          std::string& error) {
  if (reply.type != REDIS_REPLY_ARRAY) {
    error = "CLUSTER SLOTS did not answer with an array";
    return std::nullopt;
  }
  std::vector<SlotRange> ranges;
  ranges.reserve(reply.elements);
  for (std::size_t i = 0; i < reply.elements; ++i) {
    const redisReply& r = *reply.element[i];
    if (r.type != REDIS_REPLY_ARRAY || r.elements < 3 || r.element[0]->type != REDIS_REPLY_INTEGER ||
        r.element[1]->type != REDIS_REPLY_INTEGER) {
      error = "CLUSTER SLOTS entry " + std::to_string(i) + " is not [first, last, master, replicas...]";
      return std::nullopt;
    }
    SlotRange range;
    const long long first = r.element[0]->integer;
    const long long last = r.element[1]->integer;
    if (first < 0 || last < first || last >= kClusterSlots) {
      error = "CLUSTER SLOTS range " + std::to_string(first) + "-" + std::to_string(last) + " is out of 0-16383";
      return std::nullopt;
    }
    range.first = static_cast<int>(first);
    range.last = static_cast<int>(last);
    auto master = node_endpoint(*r.element[2], answering_host);
    if (!master) {
      error = "CLUSTER SLOTS range " + std::to_string(first) + "-" + std::to_string(last) + " has no valid master";
      return std::nullopt;
    }
    range.master = std::move(*master);
    for (std::size_t j = 3; j < r.elements; ++j) {
      if (auto replica = node_endpoint(*r.element[j], answering_host)) range.replicas.push_back(std::move(*replica));
    }
    ranges.push_back(std::move(range));
  }
  return ranges;
}

}  // namespace cachet::redis
