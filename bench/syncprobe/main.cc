// syncprobe: how long this machine's disk takes to sync small appends, with
// nothing else of payd's running, as a baseline for payd's open-loop
// latency (bench/run runs it beside each SQLite run at the latency target).
//
// It does what payd's SQLite writer and sync thread do to the WAL at
// 10,000 transfers/s: writes about 144 KiB at the next offset of a file
// written full size first (the WAL is overwritten in place too), then
// fdatasyncs it, once a millisecond. Each write and sync is timed, and
// summarised by sync_stalls.h: the percentiles, and the share of time an
// arrival would have waited more than the threshold for the sync under
// way alone.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/syncprobe/sync_stalls.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir = std::filesystem::temp_directory_path().string();
  int seconds = 10;
  int write_kib = 144;
  int interval_us = 1'000;
  int threshold_ms = 10;
  std::string json_path;
};

constexpr std::int64_t file_bytes = std::int64_t{64} << 20;  // written over and over, like a WAL

std::int64_t microseconds(Clock::duration duration) {
  return std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
}

// Writes the file full size and syncs it, so that the timed writes neither
// allocate blocks nor grow it. False (errno set) on failure.
bool prepare(int file) {
  std::vector<char> zeros(std::size_t{1} << 20, '\0');
  for (std::int64_t offset = 0; offset < file_bytes; offset += static_cast<std::int64_t>(zeros.size())) {
    if (::pwrite(file, zeros.data(), zeros.size(), offset) != static_cast<ssize_t>(zeros.size())) return false;
  }
  return ::fsync(file) == 0;
}

// Runs the timed writes and syncs; their durations, or an empty vector and
// a message in `error`.
std::vector<std::int64_t> probe(int file, const Options& options, std::int64_t& elapsed_us, std::string& error) {
  std::vector<char> chunk(static_cast<std::size_t>(options.write_kib) * 1024, '\x5a');
  auto interval = std::chrono::microseconds(options.interval_us);
  std::size_t syncs_max = static_cast<std::size_t>(options.seconds) * 1'000'000 / options.interval_us + 1;
  std::vector<std::int64_t> durations_us;
  durations_us.reserve(syncs_max);
  std::int64_t offset = 0;
  Clock::time_point start = Clock::now();
  Clock::time_point end = start + std::chrono::seconds(options.seconds);
  Clock::time_point next = start;
  while (Clock::now() < end && durations_us.size() < syncs_max) {
    if (offset + static_cast<std::int64_t>(chunk.size()) > file_bytes) offset = 0;
    Clock::time_point begun = Clock::now();
    if (::pwrite(file, chunk.data(), chunk.size(), offset) != static_cast<ssize_t>(chunk.size()) ||
        ::fdatasync(file) != 0) {
      error = std::string("write and sync: ") + std::strerror(errno);
      return {};
    }
    Clock::time_point done = Clock::now();
    durations_us.push_back(microseconds(done - begun));
    offset += static_cast<std::int64_t>(chunk.size());
    // Once a period; after a long sync, the next one starts at once, not
    // several in a row to catch up.
    next = std::max(next + interval, done);
    std::this_thread::sleep_until(next);
  }
  elapsed_us = microseconds(Clock::now() - start);
  return durations_us;
}

double ms(std::int64_t us) { return static_cast<double>(us) / 1000.0; }

void print(const payd::bench::SyncStallSummary& summary, const Options& options, std::int64_t elapsed_us) {
  std::printf("syncprobe: %d KiB written and fdatasynced every %d us for %.1f s in %s\n", options.write_kib,
              options.interval_us, static_cast<double>(elapsed_us) / 1e6, options.dir.c_str());
  std::printf("syncs %lld: p50 %.2f ms, p99 %.2f, p99.9 %.2f, max %.2f; %lld over %d ms\n",
              static_cast<long long>(summary.syncs), ms(summary.p50_us), ms(summary.p99_us), ms(summary.p99_9_us),
              ms(summary.max_us), static_cast<long long>(summary.over_threshold), options.threshold_ms);
  std::printf("waiting over %d ms: %.2f%% of the time (an arrival then waits longer than %d ms for the sync under "
              "way alone)\n",
              options.threshold_ms, 100.0 * summary.waiting_share_over_threshold, options.threshold_ms);
}

bool write_json(const payd::bench::SyncStallSummary& summary, const Options& options, std::int64_t elapsed_us) {
  std::ofstream out(options.json_path);
  char text[512];
  std::snprintf(text, sizeof text,
                "{\"seconds\":%.3f,\"write_kib\":%d,\"interval_us\":%d,\"threshold_ms\":%d,\"syncs\":%lld,"
                "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p99_9_ms\":%.3f,\"max_ms\":%.3f,\"over_threshold\":%lld,"
                "\"waiting_share_over_threshold\":%.5f}\n",
                static_cast<double>(elapsed_us) / 1e6, options.write_kib, options.interval_us, options.threshold_ms,
                static_cast<long long>(summary.syncs), ms(summary.p50_us), ms(summary.p99_us), ms(summary.p99_9_us),
                ms(summary.max_us), static_cast<long long>(summary.over_threshold),
                summary.waiting_share_over_threshold);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"syncprobe: the disk's sync latencies for small appends, with nothing else running"};
  app.add_option("--dir", options.dir, "Folder for the probe's file (the same filesystem as payd's data)");
  app.add_option("--seconds", options.seconds, "How long to probe")->check(CLI::Range(1, 600));
  app.add_option("--write-kib", options.write_kib, "KiB written before each sync")->check(CLI::Range(1, 16'384));
  app.add_option("--interval-us", options.interval_us, "One write and sync per this many us")
      ->check(CLI::Range(100, 1'000'000));
  app.add_option("--threshold-ms", options.threshold_ms, "The latency to count waits over")
      ->check(CLI::Range(1, 10'000));
  app.add_option("--json", options.json_path, "Also write the figures to this file");
  CLI11_PARSE(app, argc, argv);

  std::string path = (std::filesystem::path(options.dir) / "syncprobe-XXXXXX").string();
  int file = ::mkstemp(path.data());
  if (file < 0) {
    std::fprintf(stderr, "syncprobe: cannot create a file in %s: %s\n", options.dir.c_str(), std::strerror(errno));
    return 1;
  }
  std::string error;
  std::int64_t elapsed_us = 0;
  std::vector<std::int64_t> durations_us;
  if (!prepare(file)) {
    error = std::string("writing the file: ") + std::strerror(errno);
  } else {
    durations_us = probe(file, options, elapsed_us, error);
  }
  ::close(file);
  std::filesystem::remove(path);
  if (!error.empty()) {
    std::fprintf(stderr, "syncprobe: %s\n", error.c_str());
    return 1;
  }
  auto summary = payd::bench::summarize_syncs(durations_us, elapsed_us,
                                              std::int64_t{options.threshold_ms} * 1000);
  print(summary, options, elapsed_us);
  if (!options.json_path.empty() && !write_json(summary, options, elapsed_us)) {
    std::fprintf(stderr, "syncprobe: cannot write %s\n", options.json_path.c_str());
    return 1;
  }
  return 0;
}
