// Clock and Random: injected time and randomness.
//
// Every TTL, window, timeout, backoff and id in payd reads time through a
// Clock and randomness through a Random, so that tests can drive them
// exactly (ManualClock, SeededRandom). Implementations are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace payd {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch (for created_at,
  // retention). May jump.
  virtual std::int64_t now_ms() = 0;
  // Monotonic time in microseconds from an arbitrary origin (for latency,
  // deadlines, windows). Never goes back.
  virtual std::int64_t monotonic_us() = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() override;
  std::int64_t monotonic_us() override;
};

// A clock that moves only when told. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ms = 1'767'225'600'000) : now_ms_(start_ms), monotonic_us_(0) {}
  std::int64_t now_ms() override { return now_ms_.load(); }
  std::int64_t monotonic_us() override { return monotonic_us_.load(); }
  void advance_ms(std::int64_t ms) {
    now_ms_ += ms;
    monotonic_us_ += ms * 1000;
  }

 private:
  std::atomic<std::int64_t> now_ms_;
  std::atomic<std::int64_t> monotonic_us_;
};

class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t next_u64() = 0;
  // Uniform in [0, bound); bound > 0.
  std::uint64_t uniform(std::uint64_t bound) { return next_u64() % bound; }
};

// Seeded from the operating system's entropy (or a fixed seed for tests).
class SeededRandom final : public Random {
 public:
  SeededRandom();
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t next_u64() override;

 private:
  std::mutex mutex_;
  std::mt19937_64 engine_;
};

// RFC 3339 UTC with seconds precision: 2026-11-23T10:40:05Z.
std::string format_rfc3339(std::int64_t unix_ms);

}  // namespace payd
