// Routes for health, readiness, metrics, problem descriptions and the admin
// views.
#include "api/api.h"
#include "core/json_writer.h"

namespace payd::api {
namespace {

std::string render_trial_balance(const std::vector<ledger::TrialBalanceLine>& lines) {
  std::string body;
  JsonWriter json(body);
  json.begin_object().member("object", "trial_balance").key("currencies").begin_array();
  for (const auto& line : lines) {
    json.begin_object().member("currency", line.currency).member("sum", line.sum);
    json.key("system_accounts").begin_array();
    for (const auto& account : line.system_accounts) {
      json.begin_object().member("id", account.id).member("role", to_string(account.role));
      json.member("balance", account.balance).end_object();
    }
    json.end_array().end_object();
  }
  json.end_array().end_object();
  return body;
}

}  // namespace

void Api::healthz(Call call) { reply(call, 200, "{\"status\":\"ok\"}"); }

// "ok", or "degraded" while the Redis cache's circuit is not closed.
std::string Api::cache_status() const {
  if (!deps_.redis) return "ok";
  return deps_.redis->healthy() ? "ok" : "degraded";
}

// Ready while the writer is healthy and a read reaches the database (the
// probe account does not exist: not_found is the healthy answer).
void Api::readyz(Call call) {
  if (!deps_.ledger.healthy()) return reply_readiness(call, false);
  deps_.ledger.account_async("acct_readiness_probe", [this, call = std::move(call)](Result<Account> probe) mutable {
    reply_readiness(call, !probe.ok() && probe.problem().code == "not_found");
  });
}

void Api::reply_readiness(Call& call, bool ledger_ready) {
  std::string cache = cache_status();
  std::string body;
  JsonWriter json(body);
  json.begin_object().member("status", !ledger_ready ? "unavailable" : cache == "ok" ? "ok" : "degraded");
  json.key("components").begin_object();
  json.member("ledger", ledger_ready ? "ok" : "unavailable").member("cache", cache);
  json.end_object().end_object();
  if (!ledger_ready) {
    return reply_problem(call, retry_soon("unavailable", "the ledger cannot be reached"));
  }
  reply(call, 200, std::move(body));
}

void Api::metrics(Call call) {
  http::Response response;
  response.status = 200;
  response.content_type = "text/plain; version=0.0.4";
  response.body = deps_.registry.render();
  response.route = call.route;
  call.respond(std::move(response));
}

void Api::problem_description(Call call) {
  const ProblemType* type = find_problem_type(call.params[0]);
  if (!type) return reply_problem(call, not_found("no problem type " + call.params[0]));
  std::string body;
  JsonWriter json(body);
  json.begin_object().member("type", "/problems/" + std::string(type->code)).member("code", type->code);
  json.member("status", static_cast<std::int64_t>(type->status)).member("title", type->title);
  json.member("description", type->description).end_object();
  reply(call, 200, std::move(body));
}

void Api::admin_status(Call call) {
  ledger::Ledger::Stats stats = deps_.ledger.stats();
  std::string body;
  JsonWriter json(body);
  json.begin_object();
  bool shedding = stats.queue_depth * 2 > stats.queue_capacity;
  json.member("mode", shedding ? "shedding" : cache_status() == "ok" ? "normal" : "degraded");
  json.member("ledger_backend", options_.ledger_backend);
  json.member("cache_backend", deps_.redis ? "redis" : "in-process");
  json.key("circuits").begin_object().member(deps_.gateway.name(), "closed");
  if (deps_.redis) json.member("cache", resilience::to_string(deps_.redis->breaker().state()));
  json.end_object();
  json.key("cache").begin_object();
  json.member("l1_entries", static_cast<std::int64_t>(deps_.reference_cache.l1_size()));
  json.member("l1_live", deps_.reference_cache.l1_live());
  if (deps_.redis) json.member("connected", deps_.redis->client().connected());
  json.end_object();
  json.key("queues").begin_object();
  json.member("ledger_depth", stats.queue_depth).member("ledger_capacity", stats.queue_capacity);
  json.end_object();
  json.key("batches").begin_object();
  json.member("count", stats.batches).member("commands", stats.commands).member("size_max", stats.batch_size_max);
  json.member("mean_size", stats.batches ? stats.commands / stats.batches : 0);
  json.end_object();
  json.member("idempotency_keys_in_flight", static_cast<std::int64_t>(in_flight_.size()));
  json.end_object();
  reply(call, 200, std::move(body));
}

void Api::trial_balance(Call call) {
  auto answer = [this, call = std::move(call)](Result<std::vector<ledger::TrialBalanceLine>> lines) mutable {
    if (!lines.ok()) return reply_problem(call, lines.problem());
    reply(call, 200, render_trial_balance(lines.value()));
  };
  deps_.ledger.trial_balance_async(std::move(answer));
}

// What the health checker last saw of each gateway; a gateway with no
// status in the last 5 minutes is down, checked_at null (gateway/health.h).
void Api::list_gateways(Call call) {
  const std::string& name = deps_.gateway.name();
  std::optional<gateway::GatewayStatus> status = deps_.gateway_statuses.get(name);
  std::string item;
  JsonWriter json(item);
  json.begin_object().member("object", "gateway").member("name", name);
  json.member("status", status ? gateway::to_string(status->status) : "down");
  json.member("circuit", status ? status->circuit : "closed");
  json.member_or_null("checked_at", status ? format_rfc3339(status->checked_at_ms) : std::string());
  json.end_object();
  reply(call, 200, render_list({item}, false));
}

}  // namespace payd::api
