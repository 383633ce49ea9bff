#include "bench/paybench/options.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "bench/paybench/load.h"

namespace payd::bench {
namespace {

// Flags that are text on the command line and something else in Options.
struct RawFlags {
  std::vector<std::string> targets;
  std::string workload = "transfers-uniform";
  std::string keys = "uuid4";
  bool merchants_given = false;
  bool smoke = false;
};

void add_target_flags(CLI::App& app, Options& options, RawFlags& raw) {
  app.add_option("--target", raw.targets,
                 "A running payd: http://127.0.0.1:PORT (loopback only); repeat it to spread the connections "
                 "over several payd nodes (the checks read from the first)");
  app.add_flag("--spawn", options.spawn, "Start a payd (--payd) on a free port in a fresh data dir, stop it after");
  app.add_option("--payd", options.payd_path, "The payd binary for --spawn");
  app.add_option("--payctl", options.payctl_path,
                 "The payctl binary: runs `payctl verify` on the data dir after the load");
  app.add_option("--payd-arg", options.payd_args,
                 "An extra flag for the spawned payd, repeatable; write it as --payd-arg=--flag=value");
  app.add_option("--data-dir", options.data_dir, "The data dir of a running payd (--target), for --payctl");
}

void add_load_flags(CLI::App& app, Options& options, RawFlags& raw) {
  app.add_option("--workload", raw.workload,
                 "transfers-uniform | transfers-zipf | hot-merchant | payments-uniform | payment-mix | read-heavy");
  app.add_option("--accounts", options.accounts, "Test accounts created and funded")
      ->check(CLI::Range(std::size_t{2}, accounts_max));
  app.add_option("--merchants", options.merchants,
                 "Merchants created for payments-uniform, each payment to one drawn uniformly (the other payment "
                 "workloads pay one merchant)")
      ->check(CLI::Range(std::size_t{1}, merchants_max));
  app.add_option("--deposit-minor", options.deposit_minor, "Deposit into each account, in minor units")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000'000'000}));
  app.add_option("--connections", options.connections, "Keep-alive connections")
      ->check(CLI::Range(std::size_t{1}, connections_max));
  app.add_option("--duration-s", options.duration_s, "Measured load time")->check(CLI::Range(0.1, duration_s_max));
  app.add_option("--warmup-s", options.warmup_s, "Load before the measured time")
      ->check(CLI::Range(0.0, duration_s_max));
  app.add_option("--rate", options.rate_per_s, "Open loop at this many requests/s in total (0: closed loop)")
      ->check(CLI::Range(0.0, 10'000'000.0));
  app.add_option("--duplicate-share", options.duplicate_share, "Share of requests that re-send an earlier key and body")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--keys", raw.keys,
                 "Idempotency-Keys: uuid4 (random, what most clients send) | ordered (time-ordered, as UUIDv7 or "
                 "ULID keys are)");
  app.add_flag("--check,!--no-check", options.check, "Check the results through the API (and payctl) afterwards");
  app.add_option("--json", options.json_path, "Also write the figures as JSON to this file");
  app.add_option("--percentiles", options.percentiles_path,
                 "Also write the latency distribution to this file: percentile, ms, 1/(1-quantile) a line");
  app.add_option("--latency-timeline", options.timeline_path,
                 "Also write the latency over time to this file: for each 100 ms of the measured time, the requests "
                 "due in it, their longest latency (ms) and how many took over 1, 10 and 100 ms, a line");
  app.add_option("--setup-only", options.setup_only_path,
                 "Only set up (accounts funded), write their ids to this file, one a line, and exit (with --target)");
  app.add_option("--seed", options.seed, "Seed of the random choices (default: from the OS)");
  app.add_option("--request-timeout-ms", options.request_timeout_ms, "Deadline of each write and each read")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{600'000}));
  app.add_flag("--keep-data", options.keep_data, "Keep the spawned payd's data dir");
  app.add_option("--retries", options.retries,
                 "Send an operation again (same key and body) after no answer, a 5xx, 429 or 409 in use, up to N "
                 "times with jittered backoff; connections reconnect for 30 s; every key is kept and checked")
      ->check(CLI::Range(0, retries_max_limit));
  app.add_option("--fault-command", options.fault_command,
                 "A shell command run once during the load (at --fault-at-s); the recovery time is measured from it");
  app.add_option("--fault-at-s", options.fault_at_s, "When --fault-command runs, from the start of the load")
      ->check(CLI::Range(0.0, duration_s_max));
  app.add_flag("--smoke", raw.smoke,
               "A short run for the test suite: 3 s, 8 connections, 50 accounts, 5% duplicates, unless given");
}

void apply_smoke(const CLI::App& app, Options& options) {
  if (app.count("--duration-s") == 0) options.duration_s = smoke_duration_s;
  if (app.count("--warmup-s") == 0) options.warmup_s = smoke_warmup_s;
  if (app.count("--connections") == 0) options.connections = smoke_connections;
  if (app.count("--accounts") == 0) options.accounts = smoke_accounts;
  if (app.count("--duplicate-share") == 0) options.duplicate_share = smoke_duplicate_share;
}

// Flags that only make sense together. An error message, or empty.
std::string validate(Options& options, const RawFlags& raw) {
  std::optional<WorkloadKind> workload = parse_workload(raw.workload);
  if (!workload) return "--workload: unknown workload " + raw.workload;
  options.workload = *workload;
  std::optional<KeyStyle> keys = parse_key_style(raw.keys);
  if (!keys) return "--keys: uuid4 or ordered, not " + raw.keys;
  options.key_style = *keys;
  if (raw.merchants_given && options.workload != WorkloadKind::payments_uniform) {
    return "--merchants is for --workload payments-uniform only";
  }
  if (!options.fault_command.empty() && options.fault_at_s >= options.warmup_s + options.duration_s) {
    return "--fault-at-s must fall within the load (warmup + duration)";
  }
  if (!options.setup_only_path.empty() && options.spawn) return "--setup-only needs --target, not --spawn";
  if (options.spawn) {
    if (options.payd_path.empty()) return "--spawn needs --payd PATH";
    if (!raw.targets.empty()) return "--spawn and --target exclude each other";
    return {};
  }
  if (raw.targets.empty()) return "give --target http://127.0.0.1:PORT or --spawn --payd PATH";
  if (raw.targets.size() > ports_max) return "at most " + std::to_string(ports_max) + " --target";
  for (const std::string& target : raw.targets) {
    Expected<std::uint16_t> port = parse_target(target);
    if (!port.ok()) return port.message();
    options.target_ports.push_back(port.value());
  }
  if (!options.payctl_path.empty() && options.data_dir.empty()) return "--payctl with --target needs --data-dir";
  return {};
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options options;
  RawFlags raw;
  CLI::App app{"paybench: load generator and consistency check for payd"};
  app.option_defaults()->always_capture_default();
  add_target_flags(app, options, raw);
  add_load_flags(app, options, raw);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::exit(app.exit(error) == 0 ? 0 : 2);
  }
  raw.merchants_given = app.count("--merchants") > 0;
  if (raw.smoke) apply_smoke(app, options);
  std::string error = validate(options, raw);
  if (!error.empty()) {
    std::cerr << "paybench: " << error << "\n";
    std::exit(2);
  }
  return options;
}

Expected<std::uint16_t> parse_target(const std::string& target) {
  constexpr std::string_view prefix = "http://127.0.0.1:";
  std::string_view text(target);
  if (text.substr(0, prefix.size()) != prefix) {
    return Failure{"--target must be http://127.0.0.1:PORT (paybench only talks to loopback), not " + target};
  }
  text.remove_prefix(prefix.size());
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  unsigned port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
    return Failure{"--target: bad port in " + target};
  }
  return static_cast<std::uint16_t>(port);
}

}  // namespace payd::bench
