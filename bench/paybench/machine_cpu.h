// MachineCpu: how busy the machine's cores were during a run, from the
// kernel's counts in /proc/stat before and after the load.
//
// Why: paybench, payd and its database share the cores. At 10,000
// transfers/s on two cores the machine is about two-thirds busy, and with
// the disk's syncs fast a run's p99 follows the waits for a core; a busier
// machine (or a host that takes time from it, which the kernel counts as
// steal) shows here beside the run's latency.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace payd::bench {

// The aggregate "cpu" line of /proc/stat, in clock ticks since boot.
struct CpuTimes {
  std::int64_t busy = 0;   // user, nice, system, irq and softirq
  std::int64_t idle = 0;   // idle and iowait
  std::int64_t steal = 0;  // taken by the host while the guest wanted to run
  int cores = 0;           // the per-core "cpuN" lines
};

// nullopt when the text has no aggregate line with at least the eight
// fields from user to steal, or no per-core line.
std::optional<CpuTimes> parse_cpu_times(std::string_view proc_stat);

struct CpuShare {
  double busy = 0;   // of all the cores' time between the two readings
  double steal = 0;  // likewise
  int cores = 0;
};

// The shares between two readings (`later` after `earlier`); nullopt when
// no tick passed or a count went backwards.
std::optional<CpuShare> share_between(const CpuTimes& earlier, const CpuTimes& later);

}  // namespace payd::bench
