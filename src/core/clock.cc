#include "core/clock.h"

#include <chrono>
#include <cstdio>

namespace payd {

std::int64_t SystemClock::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t SystemClock::monotonic_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

SeededRandom::SeededRandom() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device()};
  engine_.seed(seed);
}

std::uint64_t SeededRandom::next_u64() {
  std::lock_guard lock(mutex_);
  return engine_();
}

std::string format_rfc3339(std::int64_t unix_ms) {
  // Whole seconds (toward zero, as before), then the civil date of their
  // day: Howard Hinnant's days-to-civil, exact for every int64 day count
  // this can see. No locale, no libc time zone lookup.
  std::int64_t seconds = unix_ms / 1000;
  std::int64_t days = seconds / 86400;
  std::int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    days -= 1;
  }
  days += 719468;
  std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  std::int64_t day_of_era = days - era * 146097;
  std::int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  std::int64_t shifted_month = (5 * day_of_year + 2) / 153;  // March = 0
  std::int64_t day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  std::int64_t month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  std::int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) {
    char buffer[80];
    std::snprintf(buffer, sizeof buffer, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", static_cast<long long>(year),
                  static_cast<long long>(month), static_cast<long long>(day),
                  static_cast<long long>(second_of_day / 3600), static_cast<long long>(second_of_day / 60 % 60),
                  static_cast<long long>(second_of_day % 60));
    return buffer;
  }
  std::string out = "0000-00-00T00:00:00Z";
  auto put = [&out](std::size_t at, std::int64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, year, 4);
  put(5, month, 2);
  put(8, day, 2);
  put(11, second_of_day / 3600, 2);
  put(14, second_of_day / 60 % 60, 2);
  put(17, second_of_day % 60, 2);
  return out;
}

}  // namespace payd
