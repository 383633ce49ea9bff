#include "cache/gateway_status_store.h"

#include <charconv>
#include <sstream>

namespace payd::cache {

std::string encode_gateway_status(const gateway::GatewayStatus& status) {
  return std::string(gateway::to_string(status.status)) + " " + status.circuit + " " +
         std::to_string(status.checked_at_ms);
}

std::optional<gateway::GatewayStatus> decode_gateway_status(const std::string& name, const std::string& text) {
  std::istringstream in(text);
  std::string health, circuit, checked_at, extra;
  if (!(in >> health >> circuit >> checked_at) || (in >> extra)) return std::nullopt;
  gateway::GatewayStatus status;
  status.name = name;
  if (health == "up") {
    status.status = gateway::Health::up;
  } else if (health == "degraded") {
    status.status = gateway::Health::degraded;
  } else if (health == "down") {
    status.status = gateway::Health::down;
  } else {
    return std::nullopt;
  }
  if (circuit != "closed" && circuit != "open" && circuit != "half_open") return std::nullopt;
  status.circuit = circuit;
  auto [end, error] = std::from_chars(checked_at.data(), checked_at.data() + checked_at.size(), status.checked_at_ms);
  if (error != std::errc() || end != checked_at.data() + checked_at.size() || status.checked_at_ms <= 0) {
    return std::nullopt;
  }
  return status;
}

void CacheStatusStore::put(const gateway::GatewayStatus& status, std::int64_t validity_ms) {
  cache_.set(key(status.name), encode_gateway_status(status), validity_ms);
}

std::optional<gateway::GatewayStatus> CacheStatusStore::get(const std::string& name) {
  std::optional<std::string> text = cache_.get(key(name));
  if (!text) return std::nullopt;
  return decode_gateway_status(name, *text);
}

}  // namespace payd::cache
