#include "bench/paybench/machine_cpu.h"

#include <array>
#include <charconv>

namespace payd::bench {
namespace {

// The fields of a "cpu" line, in the kernel's order.
enum Field { user, nice, system, idle, iowait, irq, softirq, steal, fields_needed };

bool is_core_line(std::string_view line) {
  return line.size() > 3 && line.starts_with("cpu") && line[3] >= '0' && line[3] <= '9';
}

}  // namespace

std::optional<CpuTimes> parse_cpu_times(std::string_view proc_stat) {
  std::optional<std::array<std::int64_t, fields_needed>> aggregate;
  int cores = 0;
  while (!proc_stat.empty()) {
    std::size_t end = proc_stat.find('\n');
    std::string_view line = proc_stat.substr(0, end);
    proc_stat.remove_prefix(end == std::string_view::npos ? proc_stat.size() : end + 1);
    if (is_core_line(line)) {
      ++cores;
      continue;
    }
    if (!line.starts_with("cpu ")) continue;
    std::array<std::int64_t, fields_needed> values{};
    std::string_view rest = line.substr(4);
    int parsed = 0;
    for (; parsed < fields_needed; ++parsed) {
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      auto [after, error] = std::from_chars(rest.data(), rest.data() + rest.size(), values[parsed]);
      if (error != std::errc() || values[parsed] < 0) break;
      rest.remove_prefix(static_cast<std::size_t>(after - rest.data()));
    }
    if (parsed < fields_needed) return std::nullopt;
    aggregate = values;
  }
  if (!aggregate || cores == 0) return std::nullopt;
  const auto& v = *aggregate;
  return CpuTimes{v[user] + v[nice] + v[system] + v[irq] + v[softirq], v[idle] + v[iowait], v[steal], cores};
}

std::optional<CpuShare> share_between(const CpuTimes& earlier, const CpuTimes& later) {
  std::int64_t busy = later.busy - earlier.busy;
  std::int64_t idle = later.idle - earlier.idle;
  std::int64_t steal = later.steal - earlier.steal;
  if (busy < 0 || idle < 0 || steal < 0) return std::nullopt;
  std::int64_t total = busy + idle + steal;
  if (total == 0) return std::nullopt;
  return CpuShare{static_cast<double>(busy) / static_cast<double>(total),
                  static_cast<double>(steal) / static_cast<double>(total), later.cores};
}

}  // namespace payd::bench
