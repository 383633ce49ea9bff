#include "gateway/simulated_gateway.h"

#include <algorithm>
#include <fstream>

namespace payd::gateway {

std::string_view to_string(Health health) {
  switch (health) {
    case Health::up: return "up";
    case Health::degraded: return "degraded";
    case Health::down: return "down";
  }
  return "down";
}

SimulatedGateway::SimulatedGateway(Scheduler& scheduler, std::chrono::milliseconds latency, std::string health_file)
    : scheduler_(scheduler), latency_(latency), health_file_(std::move(health_file)) {}

Status SimulatedGateway::decide(const std::string& bin, const std::string& last4) {
  if (bin == "400000") {
    if (last4 == "0002") return Status::declined;
    if (last4 == "9995") return Status::insufficient_funds;
    if (last4 == "0119") return Status::error;
  }
  return Status::approved;
}

void SimulatedGateway::answer_later(Callback done, Answer answer) {
  if (latency_.count() == 0) {
    scheduler_.post([done = std::move(done), answer = std::move(answer)] { done(answer); });
    return;
  }
  scheduler_.post_after(latency_, [done = std::move(done), answer = std::move(answer)] { done(answer); });
}

void SimulatedGateway::authorize(const Authorization& request, Callback done) {
  Status status = decide(request.bin, request.last4);
  if (status == Status::error) {
    answer_later(std::move(done), Answer{Status::error, {}});
    return;
  }
  Answer answer;
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = decisions_.try_emplace(request.payment_id, Answer{status, {}});
    if (inserted && status == Status::approved) it->second.reference = "sim_" + request.payment_id;
    answer = it->second;
  }
  bool times_out = request.bin == "400000" && request.last4 == "0259";
  if (times_out) return;  // decided and recorded, but the answer is lost
  answer_later(std::move(done), std::move(answer));
}

void SimulatedGateway::lookup(const std::string& payment_id, Callback done) {
  Answer answer{Status::not_found, {}};
  {
    std::lock_guard lock(mutex_);
    if (auto it = decisions_.find(payment_id); it != decisions_.end()) answer = it->second;
  }
  answer_later(std::move(done), std::move(answer));
}

void SimulatedGateway::capture(const std::string& payment_id, Minor, Callback done) {
  // An authorisation this simulator no longer remembers (it keeps them in
  // memory only) is captured as approved.
  Answer answer{Status::approved, "sim_" + payment_id};
  {
    std::lock_guard lock(mutex_);
    if (auto it = decisions_.find(payment_id); it != decisions_.end()) answer = it->second;
  }
  answer_later(std::move(done), std::move(answer));
}

std::size_t SimulatedGateway::charges() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(decisions_.begin(), decisions_.end(), [](const auto& entry) {
    return entry.second.status == Status::approved;
  }));
}

void SimulatedGateway::health(std::function<void(Health)> done) {
  Health health = Health::up;
  if (!health_file_.empty()) {
    std::ifstream file(health_file_);
    std::string word;
    if (file >> word) {
      health = word == "up" ? Health::up : word == "degraded" ? Health::degraded : Health::down;
    }
  }
  scheduler_.post_after(latency_, [done = std::move(done), health] { done(health); });
}

}  // namespace payd::gateway
