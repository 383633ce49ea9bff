// paybench: payd's load generator, and a check that the load left the
// ledger consistent.
//
// A run is: (spawn payd) → setup (setup.h) → load (load.h) → checks through
// the API (check.h) → (stop payd) → payctl verify → report (report.h).
// Progress goes to stderr, the table to stdout. Exit status: 0 when every
// check passed, 1 when one failed, 2 for bad flags, 3 when the run could
// not be made (payd did not start, setup was refused, payd went away
// during the load, ...).
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "bench/paybench/check.h"
#include "bench/paybench/load.h"
#include "bench/paybench/machine_cpu.h"
#include "bench/paybench/options.h"
#include "bench/paybench/payd_syncs.h"
#include "bench/paybench/payd_threads.h"
#include "bench/paybench/process.h"
#include "bench/paybench/report.h"
#include "bench/paybench/setup.h"
#include "core/open_files.h"

namespace payd::bench {
namespace {

constexpr int exit_checks_failed = 1;
constexpr int exit_run_failed = 3;
constexpr int payd_start_timeout_ms = 15'000;
constexpr int payd_stop_timeout_ms = 10'000;
constexpr int payctl_timeout_ms = 300'000;

int fail(const std::string& message) {
  std::cerr << "paybench: " << message << "\n";
  return exit_run_failed;
}

// The payd of the run: one paybench started, or ones that run already.
struct Target {
  std::vector<std::uint16_t> ports;
  std::string data_dir;  // empty when unknown
  std::unique_ptr<PaydChild> child;
};

Expected<Target> prepare_target(const Options& options) {
  if (!options.spawn) return Target{options.target_ports, options.data_dir, nullptr};
  std::vector<std::string> arguments = {"--access-log", "off", "--rate-limits", "off"};
  arguments.insert(arguments.end(), options.payd_args.begin(), options.payd_args.end());
  auto child = PaydChild::start(options.payd_path, arguments, payd_start_timeout_ms);
  if (!child.ok()) return Failure{child.message()};
  if (options.keep_data) child.value()->keep_files();
  Target target{{child.value()->port()}, child.value()->data_dir(), std::move(child.value())};
  std::cerr << "paybench: started payd (pid " << target.child->pid() << ") on 127.0.0.1:" << target.ports.front()
            << ", data in " << target.data_dir << "\n";
  return target;
}

// Eight hex digits that make this run's keys unique.
std::string make_run_id(Random& random) {
  char text[16];
  std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(random.next_u64() & 0xffffffffu));
  return text;
}

RunDescription describe_run(const Options& options) {
  RunDescription run;
  run.workload = std::string(to_string(options.workload));
  run.connections = options.connections;
  run.accounts = options.accounts;
  run.merchants = merchants_for(options.workload, options.merchants);
  run.rate_per_s = options.rate_per_s;
  run.duration_s = options.duration_s;
  run.warmup_s = options.warmup_s;
  run.duplicate_share = options.duplicate_share;
  run.keys = std::string(to_string(options.key_style));
  run.retries = options.retries;
  run.targets = options.spawn ? 1 : options.target_ports.size();
  for (const std::string& argument : options.payd_args) run.payd_args += (run.payd_args.empty() ? "" : " ") + argument;
  return run;
}

CheckResult run_payctl(const std::string& payctl_path, const std::string& data_dir) {
  CommandResult result = run_command({payctl_path, "verify", "--data-dir", data_dir}, payctl_timeout_ms);
  // payctl prints one line per invariant and a summary last; the summary
  // goes in the table, and everything when it failed.
  std::string output = result.output;
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  bool passed = result.exit_code == 0;
  std::string shown =
      passed ? output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1) : output;
  return CheckResult{"payctl verify", passed,
                     "exit status " + std::to_string(result.exit_code) + (shown.empty() ? "" : ": " + shown)};
}

// Stops a spawned payd (reading its peak memory first) and adds the checks
// that need it stopped.
void finish_target(const Options& options, Target& target, RunReport& report) {
  if (target.child) {
    report.payd_peak_rss_kib = target.child->peak_rss_kib();
    int status = target.child->stop(payd_stop_timeout_ms);
    if (options.check) {
      report.checks.push_back({"payd stopped cleanly", status == 0, "exit status " + std::to_string(status)});
    }
  }
  if (options.check && !options.payctl_path.empty() && !target.data_dir.empty()) {
    report.checks.push_back(run_payctl(options.payctl_path, target.data_dir));
  }
}

// --setup-only: the funded accounts' ids, one a line, for another load
// generator (bench/wrk).
int write_account_ids(const Fixture& fixture, const std::string& path) {
  std::ofstream file(path, std::ios::trunc);
  for (const std::string& id : fixture.account_ids) file << id << '\n';
  if (!file) return fail("cannot write " + path);
  std::cerr << "paybench: " << fixture.account_ids.size() << " accounts funded with " << fixture.deposited_minor
            << " in all, their ids in " << path << "\n";
  return 0;
}

DriveOptions make_drive_options(const Options& options, const std::vector<std::uint16_t>& ports) {
  DriveOptions drive{ports, options.connections, options.request_timeout_ms};
  if (options.retries > 0) {
    drive.reconnect_for_ms = retry_reconnect_for_ms;
    drive.attempts_max = options.retries + 1;
  }
  return drive;
}

LoadOptions make_load_options(const Options& options) {
  LoadOptions load{options.workload, options.duration_s, options.warmup_s, options.rate_per_s, options.duplicate_share};
  load.retries_max = options.retries;
  // A fault run checks every acknowledged id, not a sample.
  if (options.retries > 0) load.acknowledged_sample_max = std::numeric_limits<std::size_t>::max();
  load.fault_command = options.fault_command;
  load.fault_at_s = options.fault_at_s;
  return load;
}

// payd's WAL sync counts so far (payd_syncs.h), through the first target;
// nullopt when it keeps none or does not answer.
std::optional<PaydSyncs> read_payd_syncs(const DriveOptions& drive_options, Clock& clock) {
  DriveOptions first = drive_options;
  first.ports = {drive_options.ports.front()};
  auto responses = exchange_all(first, clock, {HttpRequest{"GET", "/metrics", {}, {}}});
  if (!responses.ok() || responses.value().front().status != 200) return std::nullopt;
  return parse_payd_syncs(responses.value().front().body);
}

// The machine's CPU times so far (machine_cpu.h); nullopt where /proc/stat
// cannot be read.
std::optional<CpuTimes> read_cpu_times() {
  std::ifstream file("/proc/stat");
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return parse_cpu_times(text.str());
}

// The ticks of each of a process's threads so far (payd_threads.h), by
// thread id; a thread that ends while it is read is left out.
std::map<int, ThreadTicks> read_thread_ticks(pid_t pid) {
  std::map<int, ThreadTicks> threads;
  std::error_code error;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", error);
  if (error) return threads;
  for (const auto& task : tasks) {
    std::ifstream file(task.path() / "stat");
    std::string line;
    if (!file || !std::getline(file, line)) continue;
    std::optional<ThreadTicks> thread = parse_thread_stat(line);
    int id = 0;
    std::string name = task.path().filename().string();
    auto [end, parse_error] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (thread && parse_error == std::errc() && end == name.data() + name.size()) threads[id] = *thread;
  }
  return threads;
}

bool is_transfer_workload(WorkloadKind workload) {
  return workload == WorkloadKind::transfers_uniform || workload == WorkloadKind::transfers_zipf;
}

// The fault command must have worked, and payd must have come back by itself.
CheckResult check_fault(const FaultResult& fault) {
  char at[32];
  std::snprintf(at, sizeof at, "%.1f s", fault.at_s);
  std::string detail = std::string("command at ") + at + " exited " + std::to_string(fault.exit_code) + ", " +
                       std::to_string(fault.service_failures) + " failed answers after it, ";
  if (fault.recover_s) {
    char recovered[32];
    std::snprintf(recovered, sizeof recovered, "%.2f s", *fault.recover_s);
    detail += std::string("serving again after ") + recovered;
  } else {
    detail += "not serving again by the end of the load";
  }
  if (fault.exit_code != 0) detail += "; its output: " + fault.output;
  return CheckResult{"payd recovered from the fault", fault.exit_code == 0 && fault.recover_s.has_value(), detail};
}

// The checks after the load, through the first target only (a fault run
// may have killed the others).
void run_checks(const Options& options, const Fixture& fixture, const TrialBalance& before,
                const DriveOptions& drive_options, Clock& clock, LoadResult& load, RunReport& report) {
  std::cerr << "paybench: checking\n";
  DriveOptions first = drive_options;
  first.ports = {drive_options.ports.front()};
  if (options.retries > 0) report.checks.push_back(resolve_open_keys(load, first, clock));
  bool exactly_once = options.retries > 0 && is_transfer_workload(options.workload);
  Checked checked = check_through_api(options.workload, fixture, load, before, exactly_once, first, clock);
  report.checks.insert(report.checks.end(), checked.results.begin(), checked.results.end());
  report.invariants = checked.invariants;
  if (load.fault) report.checks.push_back(check_fault(*load.fault));
}

int run(const Options& options) {
  SystemClock clock;
  SeededRandom random = options.seed ? SeededRandom(*options.seed) : SeededRandom();
  auto target = prepare_target(options);
  if (!target.ok()) return fail(target.message());
  DriveOptions drive_options = make_drive_options(options, target.value().ports);
  KeyMaker keys(make_run_id(random), options.key_style);
  std::cerr << "paybench: run " << keys.run_id() << ", setting up " << options.accounts << " accounts\n";
  SetupOptions setup_options{options.workload, options.accounts, options.merchants, options.deposit_minor, "USD"};
  auto fixture = set_up(setup_options, drive_options, keys, clock);
  if (!fixture.ok()) return fail(fixture.message());
  if (!options.setup_only_path.empty()) return write_account_ids(fixture.value(), options.setup_only_path);
  auto before = options.check ? read_trial_balance(drive_options, clock, fixture.value().currency)
                              : Expected<TrialBalance>(TrialBalance{});
  if (!before.ok()) return fail(before.message());
  std::cerr << "paybench: " << to_string(options.workload) << " for " << options.warmup_s << " s warmup + "
            << options.duration_s << " s\n";
  LoadOptions load_options = make_load_options(options);
  // payd's counts and threads, not across a fault: a payd restarted by one
  // starts its counts again, with other threads. Threads only of a payd of
  // our own.
  bool same_payd = options.fault_command.empty();
  std::optional<PaydSyncs> syncs_before = same_payd ? read_payd_syncs(drive_options, clock) : std::nullopt;
  std::optional<pid_t> payd_pid;
  if (target.value().child && same_payd) payd_pid = target.value().child->pid();
  std::map<int, ThreadTicks> threads_before;
  if (payd_pid) threads_before = read_thread_ticks(*payd_pid);
  std::optional<CpuTimes> cpu_before = read_cpu_times();
  LoadResult load = run_load(load_options, drive_options, fixture.value(), keys, clock, random);
  std::optional<CpuTimes> cpu_after = read_cpu_times();
  std::map<int, ThreadTicks> threads_after;
  if (payd_pid) threads_after = read_thread_ticks(*payd_pid);
  std::optional<PaydSyncs> syncs_after = same_payd ? read_payd_syncs(drive_options, clock) : std::nullopt;
  RunReport report{describe_run(options), &load, std::nullopt, {}, std::nullopt, std::nullopt, std::nullopt};
  if (cpu_before && cpu_after) report.machine_cpu = share_between(*cpu_before, *cpu_after);
  if (!threads_before.empty() && !threads_after.empty()) {
    report.payd_cpu = cpu_per_request(threads_before, threads_after, load.requests_sent, ::sysconf(_SC_CLK_TCK));
  }
  // A payd without a sync step of its own (PostgreSQL) shows the histogram empty.
  if (syncs_before && syncs_after && syncs_after->syncs > syncs_before->syncs) {
    report.payd_syncs = syncs_between(*syncs_before, *syncs_after);
  }
  if (options.check && load.stopped_early.empty()) {
    run_checks(options, fixture.value(), before.value(), drive_options, clock, load, report);
  }
  finish_target(options, target.value(), report);
  print_table(report, std::cout);
  if (!options.json_path.empty()) {
    Outcome written = write_json(report, options.json_path);
    if (!written.ok()) return fail(written.message());
  }
  if (!options.percentiles_path.empty()) {
    Outcome written = write_percentiles(load.latency, options.percentiles_path);
    if (!written.ok()) return fail(written.message());
  }
  if (!options.timeline_path.empty()) {
    Outcome written = write_latency_timeline(load.timeline, options.timeline_path);
    if (!written.ok()) return fail(written.message());
  }
  if (!load.stopped_early.empty()) return fail("the load stopped early: " + load.stopped_early);
  if (checks_passed(report)) return 0;
  if (target.value().child) {
    target.value().child->keep_files();
    std::cerr << "paybench: a check failed; payd's files are kept in " << target.value().child->root_dir() << "\n";
  }
  return exit_checks_failed;
}

}  // namespace
}  // namespace payd::bench

int main(int argc, char** argv) {
  payd::bench::Options options = payd::bench::parse_options(argc, argv);
  payd::raise_open_files_limit();  // a connection is a descriptor
  return payd::bench::run(options);
}
