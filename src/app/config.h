// payd's configuration: flags, PAYD_* environment variables and an optional
// TOML file (--config), in that order of precedence. Every default is stated
// once, here, and printed by `payd --help`.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace payd::app {

struct Config {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string port_file;  // written with the bound port once listening
  std::string data_dir = "./data";
  std::string ledger;  // empty: SQLite in data_dir; "sqlite:PATH" or a postgresql:// URL
  int threads = 1;
  int in_flight_max = 4096;
  std::size_t batch_size_max = 512;
  std::size_t queue_capacity = 16'384;
  std::string sqlite_sync = "pipelined";  // or "inline"
  int commit_window_us = 500;
  int request_timeout_ms = 10'000;
  int idle_timeout_ms = 60'000;
  int shutdown_grace_ms = 5'000;
  bool access_log = true;
  int gateway_latency_ms = 5;
  int gateway_timeout_ms = 2'000;
  int gateway_attempts_max = 3;
  int gateway_health_interval_ms = 10'000;
  std::string gateway_health_file;  // empty: the simulated gateway is always up
  int recovery_interval_ms = 1'000;
  std::int64_t idempotency_retention_s = 72 * 3600;
  bool rate_limits = true;
  std::int64_t rate_limit_per_minute = 5;
  std::int64_t rate_limit_per_hour = 10;
  std::int64_t rate_limit_per_day = 100;
  // The payment cache: empty for the in-process one, else redis://,
  // rediss://, redis-cluster:// or redis-sentinel:// (PAYMENT_CACHE_URL).
  std::string cache_url;
  int cache_deadline_ms = 50;
  int cache_connections = 2;
  std::string cache_tls_ca_file;
  int cache_breaker_failures = 5;
  int cache_breaker_open_ms = 30'000;
  int cache_l1_ttl_ms = 2'000;
  std::size_t cache_l1_entries_max = 10'000;
  std::int64_t fx_drift_tolerance_bps = 50;  // 0.5%
  std::string bin_table;  // empty: the shipped table, found as reference/bins.h says
};

// Parses the command line. Returns the config, or exits the process for
// --help and for bad flags (exit code 2, with the reason on stderr).
Config parse_config(int argc, char** argv);

}  // namespace payd::app
