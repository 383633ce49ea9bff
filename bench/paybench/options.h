// paybench's command line: every flag, its default and how flags relate,
// stated once here and printed by `paybench --help`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/paybench/expected.h"
#include "bench/paybench/key_history.h"
#include "bench/paybench/workload.h"

namespace payd::bench {

struct Options {
  // Where payd is: running ones (target_ports), or one paybench starts.
  std::vector<std::uint16_t> target_ports;  // from --target http://127.0.0.1:PORT, repeatable
  bool spawn = false;
  std::string payd_path;
  std::string payctl_path;             // runs `payctl verify` after the load when set
  std::vector<std::string> payd_args;  // extra flags for a spawned payd
  std::string data_dir;                // a running payd's data dir, for payctl

  WorkloadKind workload = WorkloadKind::transfers_uniform;
  std::size_t accounts = 1000;
  std::size_t merchants = 100;  // payments-uniform only
  std::int64_t deposit_minor = 100'000'000;
  std::size_t connections = 64;
  double duration_s = 10.0;
  double warmup_s = 1.0;
  double rate_per_s = 0.0;  // 0: closed loop
  double duplicate_share = 0.0;
  KeyStyle key_style = KeyStyle::uuid4;
  bool check = true;
  std::string json_path;
  std::string percentiles_path;  // the latency distribution as a data file (gnuplot)
  std::string timeline_path;     // the latency by 100 ms stretches as a data file (gnuplot)
  std::string setup_only_path;   // set up, write the account ids here, no load
  std::optional<std::uint64_t> seed;
  std::int64_t request_timeout_ms = 30'000;
  bool keep_data = false;

  // Fault runs (bench/chaos): retries of the same key and body, and a
  // command run once during the load.
  int retries = 0;
  std::string fault_command;
  double fault_at_s = 0.0;
};

// With --retries, a connection keeps trying to reconnect for this long
// (payd restarting), and exchange_all sends a request up to retries + 1 times.
inline constexpr std::int64_t retry_reconnect_for_ms = 30'000;

// What --smoke sets (a short run for the test suite) unless given explicitly.
inline constexpr double smoke_duration_s = 3.0;
inline constexpr double smoke_warmup_s = 0.5;
inline constexpr std::size_t smoke_connections = 8;
inline constexpr std::size_t smoke_accounts = 50;
inline constexpr double smoke_duplicate_share = 0.05;

inline constexpr std::size_t accounts_max = 1'000'000;
inline constexpr std::size_t merchants_max = 100'000;
inline constexpr double duration_s_max = 3600.0;

// Parses the command line. Exits the process for --help (status 0) and for
// bad flags (status 2, with the reason on stderr).
Options parse_options(int argc, char** argv);

// The port of http://127.0.0.1:PORT (an optional trailing slash); a failure
// for any other host: paybench only ever talks to loopback.
Expected<std::uint16_t> parse_target(const std::string& target);

}  // namespace payd::bench
