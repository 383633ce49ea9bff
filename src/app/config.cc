#include "app/config.h"

#include <CLI/CLI.hpp>

namespace payd::app {
namespace {

// "on"/"off" (also true/false, 1/0) for switches that can be turned off.
CLI::Option* add_switch(CLI::App& app, const std::string& name, bool& value, const std::string& help,
                        const std::string& environment) {
  return app.add_option_function<std::string>(
                name,
                [&value, name](const std::string& text) {
                  if (text == "on" || text == "true" || text == "1") {
                    value = true;
                  } else if (text == "off" || text == "false" || text == "0") {
                    value = false;
                  } else {
                    throw CLI::ValidationError(name, "must be on or off");
                  }
                },
                help + " (on|off, default " + (value ? "on" : "off") + ")")
      ->envname(environment);
}

}  // namespace

Config parse_config(int argc, char** argv) {
  Config config;
  CLI::App app{"payd: a payment core with a double-entry ledger, exactly-once requests and group commit"};
  app.option_defaults()->always_capture_default();
  app.set_config("--config", "", "TOML file setting any option below by its flag name, e.g. batch-size-max = 64");

  app.add_option("--listen", config.listen, "Address to listen on")->envname("PAYD_LISTEN");
  app.add_option("--port", config.port, "Port to listen on (0: any free port)")->envname("PAYD_PORT");
  app.add_option("--port-file", config.port_file, "Write the bound port to this file once listening")
      ->envname("PAYD_PORT_FILE");
  app.add_option("--data-dir", config.data_dir, "Folder for the embedded SQLite ledger and keys")
      ->envname("PAYD_DATA_DIR");
  app.add_option("--ledger", config.ledger, "Ledger: empty for SQLite in --data-dir, sqlite:PATH, or postgresql://...")
      ->envname("PAYD_LEDGER_URL");
  app.add_option("--cache-url", config.cache_url,
                 "Payment cache: empty for the in-process one, or redis://[[user]:password@]host[:port][/db], "
                 "rediss://... (TLS), redis-cluster://host:port,... or redis-sentinel://host:port,.../master")
      ->envname("PAYMENT_CACHE_URL");
  app.add_option("--cache-deadline-ms", config.cache_deadline_ms, "Deadline of every cache command")
      ->envname("PAYD_CACHE_DEADLINE_MS")->check(CLI::Range(1, 10'000));
  app.add_option("--cache-connections", config.cache_connections, "Connections to each cache node")
      ->envname("PAYD_CACHE_CONNECTIONS")->check(CLI::Range(1, 64));
  app.add_option("--cache-tls-ca-file", config.cache_tls_ca_file, "CA file to verify a rediss:// cache with")
      ->envname("PAYD_CACHE_TLS_CA_FILE");
  app.add_option("--cache-breaker-failures", config.cache_breaker_failures,
                 "Consecutive cache failures or timeouts that open its circuit")
      ->envname("PAYD_CACHE_BREAKER_FAILURES")->check(CLI::Range(1, 1'000));
  app.add_option("--cache-breaker-open-ms", config.cache_breaker_open_ms,
                 "How long the cache circuit stays open before a probe")
      ->envname("PAYD_CACHE_BREAKER_OPEN_MS")->check(CLI::Range(1, 3'600'000));
  app.add_option("--cache-l1-ttl-ms", config.cache_l1_ttl_ms, "Lifetime of in-process copies of reference data")
      ->envname("PAYD_CACHE_L1_TTL_MS")->check(CLI::Range(0, 3'600'000));
  app.add_option("--cache-l1-entries-max", config.cache_l1_entries_max, "In-process copies of reference data kept")
      ->envname("PAYD_CACHE_L1_ENTRIES_MAX")->check(CLI::Range(0, 10'000'000));
  app.add_option("--threads", config.threads, "HTTP event loop threads")->envname("PAYD_THREADS")->check(CLI::Range(1, 64));
  app.add_option("--in-flight-max", config.in_flight_max, "Requests handled at once before 503 overloaded")
      ->envname("PAYD_IN_FLIGHT_MAX")->check(CLI::Range(1, 1'000'000));
  app.add_option("--batch-size-max", config.batch_size_max, "Ledger commands per transaction (group commit)")
      ->envname("PAYD_BATCH_SIZE_MAX")->check(CLI::Range(1, 65'536));
  app.add_option("--sqlite-sync", config.sqlite_sync,
                 "SQLite: 'pipelined' (a second thread fdatasyncs the WAL while the writer goes on) or 'inline' "
                 "(every COMMIT fsyncs); answers wait for the sync either way")
      ->envname("PAYD_SQLITE_SYNC")->check(CLI::IsMember({"pipelined", "inline"}));
  app.add_option("--commit-window-us", config.commit_window_us,
                 "SQLite, pipelined sync: under a steady stream of writes, a batch stays open this long for more "
                 "(fewer commits and syncs for the same work); 0: commit as soon as the last sync returns")
      ->envname("PAYD_COMMIT_WINDOW_US")->check(CLI::Range(0, 100'000));
  app.add_option("--queue-capacity", config.queue_capacity, "Ledger commands queued before 503 overloaded")
      ->envname("PAYD_QUEUE_CAPACITY")->check(CLI::Range(1, 10'000'000));
  app.add_option("--request-timeout-ms", config.request_timeout_ms, "A request must arrive within this (408)")
      ->envname("PAYD_REQUEST_TIMEOUT_MS");
  app.add_option("--idle-timeout-ms", config.idle_timeout_ms, "Idle keep-alive connections close after this")
      ->envname("PAYD_IDLE_TIMEOUT_MS");
  app.add_option("--shutdown-grace-ms", config.shutdown_grace_ms, "Time in-flight requests get on SIGTERM")
      ->envname("PAYD_SHUTDOWN_GRACE_MS");
  add_switch(app, "--access-log", config.access_log, "One JSON line per request on stdout", "PAYD_ACCESS_LOG");
  app.add_option("--gateway-latency-ms", config.gateway_latency_ms, "Latency of the simulated gateway")
      ->envname("PAYD_GATEWAY_LATENCY_MS")->check(CLI::Range(0, 60'000));
  app.add_option("--gateway-timeout-ms", config.gateway_timeout_ms, "Gateway answer deadline; then 202 pending")
      ->envname("PAYD_GATEWAY_TIMEOUT_MS")->check(CLI::Range(1, 600'000));
  app.add_option("--gateway-attempts-max", config.gateway_attempts_max, "Gateway tries on 5xx, with backoff")
      ->envname("PAYD_GATEWAY_ATTEMPTS_MAX")->check(CLI::Range(1, 10));
  app.add_option("--gateway-health-interval-ms", config.gateway_health_interval_ms,
                 "How often each gateway's health is probed (GET /v1/gateways)")
      ->envname("PAYD_GATEWAY_HEALTH_INTERVAL_MS")->check(CLI::Range(10, 3'600'000));
  app.add_option("--gateway-health-file", config.gateway_health_file,
                 "Simulated gateway reports this file's first word (up|degraded|down) as its health; for tests")
      ->envname("PAYD_GATEWAY_HEALTH_FILE");
  app.add_option("--recovery-interval-ms", config.recovery_interval_ms, "How often pending payments are resolved")
      ->envname("PAYD_RECOVERY_INTERVAL_MS")->check(CLI::Range(10, 3'600'000));
  app.add_option("--idempotency-retention-s", config.idempotency_retention_s, "How long idempotency keys are kept")
      ->envname("PAYD_IDEMPOTENCY_RETENTION_S")->check(CLI::Range(std::int64_t{60}, std::int64_t{365} * 86400));
  add_switch(app, "--rate-limits", config.rate_limits, "Per-customer limits on new payment attempts",
             "PAYD_RATE_LIMITS");
  app.add_option("--rate-limit-per-minute", config.rate_limit_per_minute, "New payments per customer per minute")
      ->envname("PAYD_RATE_LIMIT_PER_MINUTE");
  app.add_option("--rate-limit-per-hour", config.rate_limit_per_hour, "New payments per customer per hour")
      ->envname("PAYD_RATE_LIMIT_PER_HOUR");
  app.add_option("--rate-limit-per-day", config.rate_limit_per_day, "New payments per customer per day")
      ->envname("PAYD_RATE_LIMIT_PER_DAY");
  app.add_option("--fx-drift-tolerance-bps", config.fx_drift_tolerance_bps,
                 "Rate move (basis points of the payment's rate) beyond which a capture gets review fx_drift")
      ->envname("PAYD_FX_DRIFT_TOLERANCE_BPS")->check(CLI::Range(std::int64_t{0}, std::int64_t{10'000}));
  app.add_option("--bin-table", config.bin_table,
                 "BIN table CSV (prefix,brand,country,type); empty: bins.csv beside payd, else the source tree's")
      ->envname("PAYD_BIN_TABLE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::exit(app.exit(error) == 0 ? 0 : 2);
  }
  return config;
}

}  // namespace payd::app
