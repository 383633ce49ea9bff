#include "bench/paybench/report.h"

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <ostream>
#include <string_view>

namespace payd::bench {
namespace {

struct Quantile {
  std::string_view name;  // as in the JSON
  double quantile;
};
constexpr std::array<Quantile, 4> reported_quantiles = {{
    {"p50", 0.5},
    {"p90", 0.9},
    {"p99", 0.99},
    {"p99_9", 0.999},
}};

// The derived figures, computed once for the table and the JSON.
struct Figures {
  double throughput_per_s = 0.0;
  std::array<double, reported_quantiles.size()> latency_ms{};
  double latency_ms_max = 0.0;
  // Open loop: how late requests left paybench (LoadResult::send_delay);
  // nullopt when nothing was measured.
  struct SendDelay {
    double p50_ms, p99_ms, max_ms;
  };
  std::optional<SendDelay> send_delay;
  // The requests over 10 ms by stretch (LatencyTimeline), with the worst
  // stretch's figures; nullopt when no request was measured.
  struct SlowRequests {
    LatencyTimeline::Summary summary;
    double worst_from_s = 0.0;
    std::int64_t worst_requests = 0;
    std::int64_t worst_over_10ms = 0;
    double worst_max_ms = 0.0;
  };
  std::optional<SlowRequests> slow_requests;
};

double to_ms(std::int64_t microseconds) { return static_cast<double>(microseconds) / 1000.0; }

double stretch_start_s(std::size_t index) {
  return static_cast<double>(index) * static_cast<double>(LatencyTimeline::stretch_us) * 1e-6;
}

Figures compute_figures(const LoadResult& load) {
  Figures figures;
  if (load.measured_s > 0.0) figures.throughput_per_s = static_cast<double>(load.requests_measured) / load.measured_s;
  for (std::size_t index = 0; index < reported_quantiles.size(); ++index) {
    figures.latency_ms[index] = to_ms(load.latency.quantile_us(reported_quantiles[index].quantile));
  }
  figures.latency_ms_max = to_ms(load.latency.max_us());
  if (load.send_delay.count() > 0) {
    figures.send_delay = Figures::SendDelay{to_ms(load.send_delay.quantile_us(0.5)),
                                            to_ms(load.send_delay.quantile_us(0.99)),
                                            to_ms(load.send_delay.max_us())};
  }
  if (!load.timeline.stretches().empty()) {
    Figures::SlowRequests slow{load.timeline.summarize()};
    if (slow.summary.worst) {
      const LatencyTimeline::Stretch& worst = load.timeline.stretches()[*slow.summary.worst];
      slow.worst_from_s = stretch_start_s(*slow.summary.worst);
      slow.worst_requests = worst.requests;
      slow.worst_over_10ms = worst.over[LatencyTimeline::over_10ms];
      slow.worst_max_ms = to_ms(worst.max_us);
    }
    figures.slow_requests = slow;
  }
  return figures;
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

std::string mode_of(const RunDescription& run) {
  if (run.rate_per_s <= 0.0) return "closed loop";
  return "open loop at " + format("%.0f", run.rate_per_s) + " req/s";
}

void print_row(std::ostream& out, std::string_view name, const std::string& value) {
  out << "  " << name;
  for (std::size_t pad = name.size(); pad < 16; ++pad) out << ' ';
  out << value << '\n';
}

std::string counts_text(const LoadResult& load) {
  std::string text;
  for (const auto& [status, count] : load.statuses) {
    text += (text.empty() ? "" : "  ") + (status == 0 ? std::string("none") : std::to_string(status)) + ": " +
            std::to_string(count);
  }
  return text.empty() ? "-" : text;
}

std::string codes_text(const LoadResult& load) {
  std::string text;
  for (const auto& [code, count] : load.problem_codes) {
    text += (text.empty() ? "" : "  ") + code + ": " + std::to_string(count);
  }
  return text.empty() ? "-" : text;
}

// Whether the requests over 10 ms were spread over the run or bunched in
// a few stretches (LatencyTimeline).
std::string slow_requests_text(const Figures::SlowRequests& slow) {
  const LatencyTimeline::Summary& summary = slow.summary;
  std::string stretches = std::to_string(summary.stretches) + " stretches of " +
                          std::to_string(LatencyTimeline::stretch_us / 1000) + " ms";
  if (!summary.worst) return "none (in " + stretches + ")";
  return std::to_string(summary.requests_over_10ms) + " requests, in " + std::to_string(summary.stretches_over_10ms) +
         " of " + stretches + "; the worst from " + format("%.1f s: ", slow.worst_from_s) +
         std::to_string(slow.worst_over_10ms) + " of " + std::to_string(slow.worst_requests) + " requests, max " +
         format("%.1f ms", slow.worst_max_ms);
}

void print_checks(const RunReport& report, std::ostream& out) {
  if (report.checks.empty()) {
    print_row(out, "checks", report.load->stopped_early.empty() ? "off" : "not run");
    return;
  }
  print_row(out, "checks", checks_passed(report) ? "all passed" : "FAILED");
  for (const CheckResult& check : report.checks) {
    out << "    " << (check.passed ? "ok    " : "FAIL  ") << check.name << ": " << check.detail << '\n';
  }
}

}  // namespace

bool checks_passed(const RunReport& report) {
  for (const CheckResult& check : report.checks) {
    if (!check.passed) return false;
  }
  return true;
}

void print_table(const RunReport& report, std::ostream& out) {
  assert(report.load != nullptr);
  const LoadResult& load = *report.load;
  const RunDescription& run = report.run;
  Figures figures = compute_figures(load);
  out << "paybench\n";
  print_row(out, "workload", run.workload);
  print_row(out, "connections", std::to_string(run.connections));
  print_row(out, "mode", mode_of(run));
  print_row(out, "duration", format("%.1f s", run.duration_s) + format(" (+%.1f s warmup)", run.warmup_s));
  print_row(out, "accounts", std::to_string(run.accounts));
  if (!run.keys.empty()) print_row(out, "keys", run.keys);
  if (run.merchants > 0) print_row(out, "merchants", std::to_string(run.merchants));
  if (run.targets > 1) print_row(out, "payd nodes", std::to_string(run.targets));
  if (!run.payd_args.empty()) print_row(out, "payd flags", run.payd_args);
  std::string requests = std::to_string(load.requests_measured) + " measured (" + std::to_string(load.requests_sent) +
                         " sent, " + std::to_string(load.duplicates_sent) + " duplicates)";
  print_row(out, "requests", requests);
  if (run.retries > 0) {
    print_row(out, "operations",
              std::to_string(load.operations) + " (" + std::to_string(load.acknowledged) + " acknowledged, " +
                  std::to_string(load.retries_sent) + " retries sent, at most " + std::to_string(run.retries) +
                  " each)");
  }
  if (load.fault) {
    std::string recovered = load.fault->recover_s ? format("serving again after %.2f s", *load.fault->recover_s)
                                                  : std::string("NOT serving again");
    print_row(out, "fault",
              format("at %.1f s, ", load.fault->at_s) + "exit status " + std::to_string(load.fault->exit_code) + ", " +
                  recovered);
    std::string timeline;
    for (const auto& [successes, failures] : load.fault->timeline) {
      timeline += std::to_string(successes) + "/" + std::to_string(failures) + " ";
    }
    print_row(out, "after the fault", format("2xx/failed per %.1f s: ", timeline_slice_s) + timeline);
  }
  if (!load.stopped_early.empty()) print_row(out, "STOPPED EARLY", load.stopped_early);
  if (run.rate_per_s > 0.0) {
    std::string not_sent = std::to_string(load.scheduled_not_sent) + " due but never sent";
    if (load.scheduled_not_sent > 0) not_sent += " (payd did not keep up with the rate; their latency is unbounded)";
    print_row(out, "not sent", not_sent);
  }
  print_row(out, "throughput", format("%.1f req/s", figures.throughput_per_s));
  std::string latency;
  for (std::size_t index = 0; index < reported_quantiles.size(); ++index) {
    latency += std::string(reported_quantiles[index].name) + " " + format("%.3f", figures.latency_ms[index]) + "  ";
  }
  print_row(out, "latency ms", latency + "max " + format("%.3f", figures.latency_ms_max));
  if (run.rate_per_s > 0.0 && figures.send_delay) {
    print_row(out, "send delay ms",
              "p50 " + format("%.3f", figures.send_delay->p50_ms) + "  p99 " +
                  format("%.3f", figures.send_delay->p99_ms) + "  max " + format("%.3f", figures.send_delay->max_ms) +
                  "  (of the latency: sent late by the client)");
  }
  if (figures.slow_requests) print_row(out, "over 10 ms", slow_requests_text(*figures.slow_requests));
  print_row(out, "statuses", counts_text(load));
  print_row(out, "problem codes", codes_text(load));
  if (report.payd_peak_rss_kib)
    print_row(out, "payd peak RSS", format("%.1f MiB", static_cast<double>(*report.payd_peak_rss_kib) / 1024.0));
  if (report.payd_syncs) {
    const PaydSyncs& syncs = *report.payd_syncs;
    print_row(out, "payd WAL syncs",
              std::to_string(syncs.syncs) + " during the load, " + std::to_string(syncs.over_2_5ms) +
                  " over 2.5 ms, " + std::to_string(syncs.over_10ms) + " over 10 ms");
  }
  if (report.machine_cpu) {
    print_row(out, "machine CPU",
              format("%.0f%% busy", 100.0 * report.machine_cpu->busy) + " of " +
                  std::to_string(report.machine_cpu->cores) + " cores, " +
                  format("%.1f%% steal", 100.0 * report.machine_cpu->steal) + " (every process, during the load)");
  }
  if (report.payd_cpu) {
    std::string by_thread;
    for (const ThreadCpu& thread : report.payd_cpu->threads) {
      if (thread.us_per_request < 0.5) continue;
      by_thread += (by_thread.empty() ? "" : ", ") + thread.name + " " + format("%.0f", thread.us_per_request);
    }
    print_row(out, "payd CPU",
              format("%.0f", report.payd_cpu->us_per_request) + " µs a request" +
                  (by_thread.empty() ? "" : " (" + by_thread + ")") + ", during the load");
  }
  print_checks(report, out);
}

Outcome write_json(const RunReport& report, const std::string& path) {
  assert(report.load != nullptr);
  const LoadResult& load = *report.load;
  const RunDescription& run = report.run;
  Figures figures = compute_figures(load);
  boost::json::object json;
  json["workload"] = run.workload;
  json["connections"] = run.connections;
  json["mode"] = run.rate_per_s > 0.0 ? "open" : "closed";
  json["rate_per_s"] = run.rate_per_s;
  json["duration_s"] = run.duration_s;
  json["warmup_s"] = run.warmup_s;
  json["accounts"] = run.accounts;
  json["merchants"] = run.merchants;
  json["duplicate_share"] = run.duplicate_share;
  json["keys"] = run.keys;
  json["payd_args"] = run.payd_args;
  json["retries"] = run.retries;
  json["targets"] = run.targets;
  json["operations"] = load.operations;
  json["acknowledged"] = load.acknowledged;
  json["retries_sent"] = load.retries_sent;
  if (load.fault) {
    boost::json::object fault;
    fault["at_s"] = load.fault->at_s;
    fault["exit_code"] = load.fault->exit_code;
    fault["service_failures"] = load.fault->service_failures;
    if (load.fault->recover_s) {
      fault["recover_s"] = *load.fault->recover_s;
    } else {
      fault["recover_s"] = nullptr;
    }
    json["fault"] = std::move(fault);
  }
  if (report.invariants) {
    json["lost_acknowledged"] = report.invariants->lost_acknowledged;
    json["duplicate_effects"] = report.invariants->duplicate_effects;
    json["conserved"] = report.invariants->conserved;
  }
  json["requests"] = load.requests_measured;
  json["requests_sent"] = load.requests_sent;
  json["duplicates_sent"] = load.duplicates_sent;
  json["scheduled_not_sent"] = load.scheduled_not_sent;
  json["measured_s"] = load.measured_s;
  json["stopped_early"] = load.stopped_early;
  json["throughput_per_s"] = figures.throughput_per_s;
  boost::json::object latency;
  for (std::size_t index = 0; index < reported_quantiles.size(); ++index) {
    latency[reported_quantiles[index].name] = figures.latency_ms[index];
  }
  latency["max"] = figures.latency_ms_max;
  json["latency_ms"] = std::move(latency);
  if (figures.send_delay) {
    json["send_delay_ms"] = boost::json::object{
        {"p50", figures.send_delay->p50_ms}, {"p99", figures.send_delay->p99_ms}, {"max", figures.send_delay->max_ms}};
  }
  if (figures.slow_requests) {
    const Figures::SlowRequests& slow = *figures.slow_requests;
    boost::json::object over_time{{"stretch_ms", LatencyTimeline::stretch_us / 1000},
                                  {"stretches", slow.summary.stretches},
                                  {"stretches_over_10ms", slow.summary.stretches_over_10ms},
                                  {"requests_over_10ms", slow.summary.requests_over_10ms}};
    if (slow.summary.worst) {
      over_time["worst_from_s"] = slow.worst_from_s;
      over_time["worst_requests"] = slow.worst_requests;
      over_time["worst_over_10ms"] = slow.worst_over_10ms;
      over_time["worst_max_ms"] = slow.worst_max_ms;
    }
    json["latency_over_time"] = std::move(over_time);
  }
  boost::json::object statuses;
  for (const auto& [status, count] : load.statuses) statuses[std::to_string(status)] = count;
  json["statuses"] = std::move(statuses);
  boost::json::object codes;
  for (const auto& [code, count] : load.problem_codes) codes[code] = count;
  json["problem_codes"] = std::move(codes);
  if (report.payd_peak_rss_kib) json["payd_peak_rss_kib"] = *report.payd_peak_rss_kib;
  if (report.payd_syncs) {
    json["payd_wal_syncs"] = boost::json::object{{"count", report.payd_syncs->syncs},
                                                 {"over_2_5ms", report.payd_syncs->over_2_5ms},
                                                 {"over_10ms", report.payd_syncs->over_10ms}};
  }
  if (report.machine_cpu) {
    json["machine_cpu"] = boost::json::object{{"busy_share", report.machine_cpu->busy},
                                              {"steal_share", report.machine_cpu->steal},
                                              {"cores", report.machine_cpu->cores}};
  }
  if (report.payd_cpu) {
    boost::json::object threads;
    for (const ThreadCpu& thread : report.payd_cpu->threads) threads[thread.name] = thread.us_per_request;
    json["payd_cpu"] = boost::json::object{{"us_per_request", report.payd_cpu->us_per_request},
                                           {"threads_us_per_request", std::move(threads)}};
  }
  boost::json::array checks;
  for (const CheckResult& check : report.checks) {
    checks.push_back(boost::json::object{{"name", check.name}, {"passed", check.passed}, {"detail", check.detail}});
  }
  json["checks"] = std::move(checks);
  json["checks_passed"] = checks_passed(report);
  std::ofstream file(path, std::ios::trunc);
  file << boost::json::serialize(json) << '\n';
  if (!file) return Failure{"cannot write " + path};
  return Done{};
}

Outcome write_percentiles(const LatencyHistogram& latency, const std::string& path) {
  constexpr int steps_per_decade = 20;
  constexpr int decades_max = 7;
  std::ofstream file(path, std::ios::trunc);
  file << "# percentile latency_ms inverse_tail\n";
  auto count = static_cast<double>(latency.count());
  for (int step = 0; step <= steps_per_decade * decades_max; ++step) {
    double inverse_tail = std::pow(10.0, static_cast<double>(step) / steps_per_decade);
    if (inverse_tail > count) break;
    double quantile = 1.0 - 1.0 / inverse_tail;
    file << format("%.5f", quantile * 100.0) << ' ' << format("%.3f", to_ms(latency.quantile_us(quantile))) << ' '
         << format("%.3f", inverse_tail) << '\n';
  }
  if (count > 0) file << "100 " << format("%.3f", to_ms(latency.max_us())) << ' ' << format("%.3f", count) << '\n';
  if (!file) return Failure{"cannot write " + path};
  return Done{};
}

Outcome write_latency_timeline(const LatencyTimeline& timeline, const std::string& path) {
  std::ofstream file(path, std::ios::trunc);
  file << "# at_s requests max_ms over_1ms over_10ms over_100ms\n";
  const auto& stretches = timeline.stretches();
  for (std::size_t index = 0; index < stretches.size(); ++index) {
    const LatencyTimeline::Stretch& stretch = stretches[index];
    file << format("%.1f", stretch_start_s(index)) << ' ' << stretch.requests << ' '
         << format("%.3f", to_ms(stretch.max_us));
    for (std::int64_t over : stretch.over) file << ' ' << over;
    file << '\n';
  }
  if (!file) return Failure{"cannot write " + path};
  return Done{};
}

}  // namespace payd::bench
