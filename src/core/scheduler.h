// Scheduler: run work later on the server's event loop, without Asio headers.
//
// Services use it for gateway timeouts, retries with backoff and background
// workers, so that they stay free of I/O types and can be driven by a test
// scheduler. Thread-safe: post from any thread.
#pragma once

#include <chrono>
#include <functional>

namespace payd {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs `work` on the event loop as soon as possible.
  virtual void post(std::function<void()> work) = 0;
  // Runs `work` on the event loop after `delay`. Work still pending when the
  // scheduler stops is dropped without running.
  virtual void post_after(std::chrono::milliseconds delay, std::function<void()> work) = 0;
};

}  // namespace payd
