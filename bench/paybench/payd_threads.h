// PaydThreads: the CPU payd's threads used during a run, per request, by
// thread name (payd names its threads: ledger-writer, ledger-sync,
// ledger-ckpt, ...; the HTTP thread keeps the process's name, payd), from
// /proc/<pid>/task/<tid>/stat before and after the load.
//
// Why: a run's latency and throughput swing by 20-50% here with the host,
// the disk and the other processes, while a thread's CPU per request moves
// little. A change that saves CPU shows in these figures when the latency
// cannot tell it from the noise (the page cache change: the writer's 48.7
// µs a transfer against 52.9, lower in 12 of 13 pairs, with the p99s
// overlapping).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace payd::bench {

// One thread's name and the clock ticks it ran (user and system).
struct ThreadTicks {
  std::string name;
  std::int64_t ticks = 0;
};

// The text of /proc/<pid>/task/<tid>/stat: "tid (name) state ..." with the
// user and system ticks in fields 14 and 15. The name may hold spaces and
// parentheses; it ends at the last ')'. nullopt for any other text.
std::optional<ThreadTicks> parse_thread_stat(std::string_view stat);

struct ThreadCpu {
  std::string name;
  double us_per_request = 0;
};

struct PaydCpu {
  double us_per_request = 0;        // all of payd's threads
  std::vector<ThreadCpu> threads;  // by name (threads of one name summed), most first
};

// The CPU between two readings (thread id to ticks), per request. A thread
// only in `later` started during the load and counts from zero; one only
// in `earlier` ended, and its last ticks are not known, so it is left out.
// nullopt when there were no requests or no ticks per second.
std::optional<PaydCpu> cpu_per_request(const std::map<int, ThreadTicks>& earlier,
                                       const std::map<int, ThreadTicks>& later, std::int64_t requests,
                                       std::int64_t ticks_per_second);

}  // namespace payd::bench
