#include "gateway/health.h"

#include <cassert>

namespace payd::gateway {

void MemoryStatusStore::put(const GatewayStatus& status, std::int64_t validity_ms) {
  assert(!status.name.empty() && validity_ms > 0);
  std::lock_guard lock(mutex_);
  statuses_.insert_or_assign(status.name, Kept{status, clock_.now_ms() + validity_ms});
}

std::optional<GatewayStatus> MemoryStatusStore::get(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = statuses_.find(name);
  if (it == statuses_.end()) return std::nullopt;
  if (clock_.now_ms() >= it->second.expires_at_ms) {
    statuses_.erase(it);
    return std::nullopt;
  }
  return it->second.status;
}

HealthChecker::HealthChecker(std::vector<Gateway*> gateways, StatusStore& store, Scheduler& scheduler, Clock& clock,
                             HealthCheckOptions options)
    : gateways_(std::move(gateways)),
      store_(store),
      scheduler_(scheduler),
      clock_(clock),
      options_(options),
      stopped_(std::make_shared<std::atomic<bool>>(false)) {
  assert(options_.interval.count() > 0 && options_.probe_timeout.count() > 0);
}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::start() {
  scheduler_.post([this, stopped = stopped_] {
    if (!*stopped) check_all();
  });
}

void HealthChecker::stop() { *stopped_ = true; }

void HealthChecker::check_all() {
  for (Gateway* gateway : gateways_) probe(*gateway);
  scheduler_.post_after(options_.interval, [this, stopped = stopped_] {
    if (!*stopped) check_all();
  });
}

void HealthChecker::probe(Gateway& gateway) {
  // Whichever comes first, the answer or the timeout, records the status.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto record = [this, stopped = stopped_, answered, name = gateway.name()](Health health) {
    if (*stopped || answered->exchange(true)) return;
    store_.put(GatewayStatus{name, health, "closed", clock_.now_ms()}, status_validity_ms);
  };
  gateway.health(record);
  scheduler_.post_after(options_.probe_timeout, [record] { record(Health::down); });
}

}  // namespace payd::gateway
