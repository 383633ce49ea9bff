// payd: wires the ledger, the cache, the gateway, the API and the HTTP server
// together, and runs until SIGTERM or SIGINT.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "api/api.h"
#include "app/config.h"
#include "cache/cache_aside.h"
#include "cache/gateway_status_store.h"
#include "cache/memory_cache.h"
#include "cache/redis_cache.h"
#include "core/open_files.h"
#include "redis/client.h"
#include "resilience/circuit_breaker.h"
#include "gateway/health.h"
#include "gateway/simulated_gateway.h"
#include "http/server.h"
#include "ledger/postgres/notification_listener.h"
#include "ledger/postgres/postgres_ledger.h"
#include "ledger/postgres/schema.h"
#include "ledger/sqlite/sqlite_ledger.h"
#include "payments/card_flow.h"
#include "payments/recovery_worker.h"
#include "reference/bins.h"
#include "reference/fx_rates.h"

namespace payd::app {
namespace {

// Lets the server be built before the API, which needs the server's
// scheduler for gateway timeouts.
class ForwardingHandler final : public http::Handler {
 public:
  void handle(http::Request request, http::Respond respond) override {
    target_->handle(std::move(request), std::move(respond));
  }
  void set_target(http::Handler& target) { target_ = &target; }

 private:
  http::Handler* target_ = nullptr;
};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "payd: " << message << "\n";
  std::exit(1);
}

// The secret for card fingerprints, made on first start and kept with the data.
std::string load_or_make_secret(const std::filesystem::path& path, Random& random) {
  std::ifstream existing(path);
  std::string secret;
  if (existing >> secret && secret.size() == 64) return secret;
  static constexpr char hex[] = "0123456789abcdef";
  secret.clear();
  for (int i = 0; i < 4; ++i) {
    std::uint64_t bits = random.next_u64();
    for (int j = 0; j < 16; ++j, bits >>= 4) secret.push_back(hex[bits & 0xf]);
  }
  std::ofstream out(path, std::ios::trunc);
  out << secret << "\n";
  if (!out) fail("cannot write " + path.string());
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return secret;
}

void write_port_file(const std::string& path, std::uint16_t port) {
  if (path.empty()) return;
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << "\n";
    if (!out) fail("cannot write " + temporary);
  }
  std::filesystem::rename(temporary, path);
}

bool is_postgres_url(const std::string& ledger) {
  return ledger.rfind("postgresql://", 0) == 0 || ledger.rfind("postgres://", 0) == 0;
}

std::string sqlite_path(const Config& config) {
  if (config.ledger.empty()) return (std::filesystem::path(config.data_dir) / "ledger.db").string();
  if (config.ledger.rfind("sqlite:", 0) == 0) return config.ledger.substr(7);
  fail("unsupported ledger URL '" + config.ledger + "': use sqlite:PATH or postgresql://...");
}

// The ledger `--ledger` names: PostgreSQL for a postgresql:// URL, the
// embedded SQLite ledger otherwise. Opened, or the process fails.
std::unique_ptr<ledger::Ledger> open_ledger(const Config& config, IdGenerator& ids, Clock& clock, Random& random,
                                            metrics::Registry& registry) {
  std::size_t queue_capacity = std::max(config.queue_capacity, config.batch_size_max);
  if (is_postgres_url(config.ledger)) {
    ledger::postgres::PostgresOptions options;
    options.url = config.ledger;
    options.batch_size_max = config.batch_size_max;
    options.queue_capacity = queue_capacity;
    auto ledger = std::make_unique<ledger::postgres::PostgresLedger>(options, ids, clock, random, registry);
    if (Status opened = ledger->open(); !opened.ok()) fail(opened.problem().detail);
    return ledger;
  }
  ledger::sqlite::SqliteOptions options;
  options.path = sqlite_path(config);
  options.batch_size_max = config.batch_size_max;
  options.queue_capacity = queue_capacity;
  options.pipelined_sync = config.sqlite_sync == "pipelined";
  options.commit_window_us = config.commit_window_us;
  auto ledger = std::make_unique<ledger::sqlite::SqliteLedger>(options, ids, clock, registry);
  if (Status opened = ledger->open(); !opened.ok()) fail(opened.problem().detail);
  return ledger;
}

int run(const Config& config) {
  // Every connection, to clients and to the databases, is a descriptor.
  raise_open_files_limit();
  std::error_code error;
  std::filesystem::create_directories(config.data_dir, error);
  if (error) fail("cannot create data folder " + config.data_dir + ": " + error.message());

  SystemClock clock;
  SeededRandom random;
  IdGenerator ids(clock, random);
  metrics::Registry registry;

  std::unique_ptr<ledger::Ledger> opened_ledger = open_ledger(config, ids, clock, random, registry);
  ledger::Ledger& ledger = *opened_ledger;
  std::string ledger_description = is_postgres_url(config.ledger) ? "postgresql" : sqlite_path(config);

  http::Server::Options server_options;
  server_options.address = config.listen;
  server_options.port = config.port;
  server_options.threads = config.threads;
  server_options.in_flight_max = config.in_flight_max;
  server_options.request_timeout_ms = config.request_timeout_ms;
  server_options.idle_timeout_ms = config.idle_timeout_ms;
  server_options.shutdown_grace_ms = config.shutdown_grace_ms;
  server_options.access_log = config.access_log;
  ForwardingHandler forwarding;
  http::Server server(server_options, forwarding, registry, clock, ids);
  // On PostgreSQL the reads of the HTTP routes wait on the server's event
  // loop, not in it (SQLite's are local and answer at once).
  if (auto* postgres = dynamic_cast<ledger::postgres::PostgresLedger*>(&ledger)) {
    postgres->serve_reads_on(server.scheduler(), server.descriptor_watcher());
  }

  // The payment cache: in-process, or Redis behind a breaker with the
  // in-process one as its fallback.
  cache::MemoryCache local_cache(clock);
  std::unique_ptr<redis::Client> redis_client;
  std::unique_ptr<resilience::CircuitBreaker> cache_breaker;
  std::unique_ptr<cache::RedisCache> redis_cache;
  if (!config.cache_url.empty()) {
    Result<redis::Url> url = redis::parse_url(config.cache_url);
    if (!url.ok()) fail("PAYMENT_CACHE_URL: " + url.problem().detail);
    redis::Options redis_options;
    redis_options.deadline_ms = config.cache_deadline_ms;
    redis_options.connections = config.cache_connections;
    redis_options.tls_ca_file = config.cache_tls_ca_file;
    redis_client = redis::make_client(url.value(), redis_options, registry, random);
    cache_breaker = std::make_unique<resilience::CircuitBreaker>(
        "cache", resilience::BreakerOptions{config.cache_breaker_failures, config.cache_breaker_open_ms, 1'000},
        clock, registry);
    redis_cache = std::make_unique<cache::RedisCache>(*redis_client, *cache_breaker, local_cache, registry);
  }
  cache::Cache& cache = redis_cache ? static_cast<cache::Cache&>(*redis_cache) : local_cache;
  cache::CacheAsideOptions aside_options;
  aside_options.l1_ttl_ms = config.cache_l1_ttl_ms;
  aside_options.l1_entries_max = config.cache_l1_entries_max;
  aside_options.single_node = !is_postgres_url(config.ledger);  // SQLite has one writer: this process
  cache::CacheAside reference_cache(redis_cache.get(), clock, random, registry, aside_options);
  // On PostgreSQL every node hears the database's notices of changed
  // reference data, so the L1 serves with or without Redis.
  std::unique_ptr<ledger::postgres::NotificationListener> cache_notices;
  if (is_postgres_url(config.ledger)) {
    cache_notices = std::make_unique<ledger::postgres::NotificationListener>(
        ledger::postgres::NotificationOptions{config.ledger, ledger::postgres::cache_channel},
        ledger::postgres::NotificationHandlers{[&reference_cache] { reference_cache.database_listening(); },
                                               [&reference_cache](const std::string& key) {
                                                 reference_cache.database_heard(key);
                                               },
                                               [&reference_cache] { reference_cache.database_deaf(); }},
        random);
  }
  gateway::SimulatedGateway gateway(server.scheduler(), std::chrono::milliseconds(config.gateway_latency_ms),
                                    config.gateway_health_file);
  cache::CacheStatusStore gateway_statuses(cache);  // shared through Redis when configured
  gateway::HealthCheckOptions health_options{std::chrono::milliseconds(config.gateway_health_interval_ms),
                                             std::chrono::milliseconds(config.gateway_timeout_ms)};
  gateway::HealthChecker health_checker({&gateway}, gateway_statuses, server.scheduler(), clock, health_options);
  payments::CardFlowOptions card_options;
  card_options.gateway_timeout = std::chrono::milliseconds(config.gateway_timeout_ms);
  card_options.attempts_max = config.gateway_attempts_max;
  payments::CardFlow card_flow(ledger, gateway, server.scheduler(), random, card_options);

  api::ApiOptions api_options;
  api_options.rate_limits = api::RateLimitOptions{config.rate_limits, config.rate_limit_per_minute,
                                                  config.rate_limit_per_hour, config.rate_limit_per_day};
  api_options.fx_drift_tolerance_bps = config.fx_drift_tolerance_bps;
  api_options.card_fingerprint_key =
      load_or_make_secret(std::filesystem::path(config.data_dir) / "card_fingerprint.key", random);
  reference::FxRates fx_rates(ledger, [&reference_cache](const std::string& key, std::int64_t ttl_ms,
                                                        const cache::CacheAside::AsyncLoader& load,
                                                        cache::CacheAside::Done done) {
    reference_cache.get_async(key, ttl_ms, load, std::move(done));
  });
  Result<reference::BinTable> bin_table = reference::load_bin_table(config.bin_table);
  if (!bin_table.ok()) fail(bin_table.problem().detail);
  reference::Bins bins(std::move(bin_table.value()));
  api::Api api(api::Dependencies{ledger, cache, gateway, card_flow, clock, ids, registry, fx_rates, bins,
                                 gateway_statuses, reference_cache, redis_cache.get(), &server.scheduler()},
               api_options);
  forwarding.set_target(api);

  payments::RecoveryOptions recovery_options;
  recovery_options.interval = std::chrono::milliseconds(config.recovery_interval_ms);
  recovery_options.pending_age_min = std::chrono::milliseconds(config.gateway_timeout_ms);
  recovery_options.idempotency_retention = std::chrono::seconds(config.idempotency_retention_s);
  payments::RecoveryWorker recovery(ledger, card_flow, clock, registry, recovery_options);

  Result<std::uint16_t> port = server.start();
  if (!port.ok()) fail(port.problem().detail);
  write_port_file(config.port_file, port.value());
  std::fprintf(stderr, "payd listening on %s:%u (ledger %s, cache %s, batch_size_max %zu)\n", config.listen.c_str(),
               static_cast<unsigned>(port.value()), ledger_description.c_str(),
               redis_cache ? "redis" : "in-process", config.batch_size_max);

  recovery.start();
  health_checker.start();
  server.set_on_shutdown([&] {
    health_checker.stop();
    recovery.stop();
    ledger.shutdown();
  });
  server.run();
  std::fprintf(stderr, "payd stopped\n");
  return 0;
}

}  // namespace
}  // namespace payd::app

int main(int argc, char** argv) { return payd::app::run(payd::app::parse_config(argc, argv)); }
