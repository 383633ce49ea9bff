// CacheStatusStore: gateway statuses in the payment cache, shared by every
// node, as `payment:gateway:{name}:status` with the status's validity (5
// minutes) as its TTL (DESIGN.md, key layout). With Redis away the cache's
// local fallback keeps them, so GET /v1/gateways keeps answering.
#pragma once

#include "cache/cache.h"
#include "gateway/health.h"

namespace payd::cache {

class CacheStatusStore final : public gateway::StatusStore {
 public:
  explicit CacheStatusStore(Cache& cache) : cache_(cache) {}
  void put(const gateway::GatewayStatus& status, std::int64_t validity_ms) override;
  std::optional<gateway::GatewayStatus> get(const std::string& name) override;

  static std::string key(const std::string& name) { return "payment:gateway:" + name + ":status"; }

 private:
  Cache& cache_;
};

// "up closed 1767225600000" and back; nullopt for anything else.
std::string encode_gateway_status(const gateway::GatewayStatus& status);
std::optional<gateway::GatewayStatus> decode_gateway_status(const std::string& name, const std::string& text);

}  // namespace payd::cache
