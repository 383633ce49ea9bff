// Gateway health: a background checker probes every gateway and keeps what
// it saw in a status store, which GET /v1/gateways reads.
//
// The store holds one status per gateway name for status_validity_ms (5
// minutes); a status older than that is gone, and the gateway is reported
// `down` with `checked_at: null`: a checker that stopped checking must not
// leave a gateway looking healthy. StatusStore is the seam for sharing
// statuses between nodes: a later store keeps them in Redis as
// `payment:gateway:{name}:status` with the same validity as TTL.
//
// The circuit is always `closed` today: payd has no gateway circuit breaker
// yet, and the status says so rather than inventing one.
//
// Thread-safe: the store from any thread; the checker runs on the scheduler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/scheduler.h"
#include "gateway/gateway.h"

namespace payd::gateway {

inline constexpr std::int64_t status_validity_ms = 5 * 60 * 1000;

struct GatewayStatus {
  std::string name;
  Health status = Health::down;
  std::string circuit = "closed";  // closed, open or half_open
  std::int64_t checked_at_ms = 0;
};

class StatusStore {
 public:
  virtual ~StatusStore() = default;
  // Keeps `status` for its gateway for `validity_ms`, replacing the last one.
  virtual void put(const GatewayStatus& status, std::int64_t validity_ms) = 0;
  // The gateway's status if one was put less than its validity ago.
  virtual std::optional<GatewayStatus> get(const std::string& name) = 0;
};

// In this process's memory, expiring by the injected clock.
class MemoryStatusStore final : public StatusStore {
 public:
  explicit MemoryStatusStore(Clock& clock) : clock_(clock) {}
  void put(const GatewayStatus& status, std::int64_t validity_ms) override;
  std::optional<GatewayStatus> get(const std::string& name) override;

 private:
  struct Kept {
    GatewayStatus status;
    std::int64_t expires_at_ms;
  };
  Clock& clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Kept> statuses_;
};

struct HealthCheckOptions {
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds probe_timeout{2'000};  // no answer by then: down
};

// Probes each gateway at start and then every interval, on the scheduler.
class HealthChecker {
 public:
  HealthChecker(std::vector<Gateway*> gateways, StatusStore& store, Scheduler& scheduler, Clock& clock,
                HealthCheckOptions options);
  ~HealthChecker();

  void start();
  // No probe starts after stop(); answers still in flight are dropped.
  void stop();

 private:
  void check_all();
  void probe(Gateway& gateway);

  std::vector<Gateway*> gateways_;
  StatusStore& store_;
  Scheduler& scheduler_;
  Clock& clock_;
  HealthCheckOptions options_;
  std::shared_ptr<std::atomic<bool>> stopped_;
};

}  // namespace payd::gateway
