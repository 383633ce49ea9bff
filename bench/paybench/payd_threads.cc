#include "bench/paybench/payd_threads.h"

#include <algorithm>
#include <charconv>

namespace payd::bench {

std::optional<ThreadTicks> parse_thread_stat(std::string_view stat) {
  std::size_t open = stat.find('(');
  std::size_t close = stat.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ThreadTicks thread{std::string(stat.substr(open + 1, close - open - 1)), 0};
  // After the name: field 3 (the state) onwards; user and system time are
  // fields 14 and 15.
  std::string_view rest = stat.substr(close + 1);
  constexpr int user_field = 14;
  constexpr int system_field = 15;
  for (int field = 3; field <= system_field; ++field) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    std::size_t end = rest.find(' ');
    std::string_view value = rest.substr(0, end);
    if (value.empty()) return std::nullopt;
    if (field == user_field || field == system_field) {
      std::int64_t ticks = 0;
      auto [after, error] = std::from_chars(value.data(), value.data() + value.size(), ticks);
      if (error != std::errc() || after != value.data() + value.size() || ticks < 0) return std::nullopt;
      thread.ticks += ticks;
    }
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  return thread;
}

std::optional<PaydCpu> cpu_per_request(const std::map<int, ThreadTicks>& earlier,
                                       const std::map<int, ThreadTicks>& later, std::int64_t requests,
                                       std::int64_t ticks_per_second) {
  if (requests <= 0 || ticks_per_second <= 0) return std::nullopt;
  std::map<std::string, std::int64_t> ticks_by_name;
  for (const auto& [id, thread] : later) {
    auto before = earlier.find(id);
    std::int64_t start = before == earlier.end() ? 0 : before->second.ticks;
    ticks_by_name[thread.name] += std::max<std::int64_t>(thread.ticks - start, 0);
  }
  double us_per_tick = 1e6 / static_cast<double>(ticks_per_second);
  auto per_request = [&](std::int64_t ticks) {
    return static_cast<double>(ticks) * us_per_tick / static_cast<double>(requests);
  };
  PaydCpu cpu;
  std::int64_t total = 0;
  for (const auto& [name, ticks] : ticks_by_name) {
    total += ticks;
    cpu.threads.push_back(ThreadCpu{name, per_request(ticks)});
  }
  std::stable_sort(cpu.threads.begin(), cpu.threads.end(),
                   [](const ThreadCpu& a, const ThreadCpu& b) { return a.us_per_request > b.us_per_request; });
  cpu.us_per_request = per_request(total);
  return cpu;
}

}  // namespace payd::bench
