// NotificationListener: hears one PostgreSQL NOTIFY channel and says when
// it starts and stops hearing it.
//
// LISTEN belongs to a session, so the listener keeps a connection of its
// own, on a thread of its own that waits in poll() for the server: no
// query ever runs on it, and nothing else waits for it. When the
// connection is lost (the server stopped, a network fault noticed by TCP
// keepalives) it says so, then reconnects after an exponential backoff
// with full jitter (resilience/backoff.h) and listens again.
//
// What was notified while nobody listened is lost: `listening` runs each
// time LISTEN has taken effect, so the handler can forget whatever it kept
// on the strength of the notifications (payd's L1 cache clears itself).
//
// The handlers run on the listener's thread, one at a time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.h"

namespace payd::ledger::postgres {

struct NotificationOptions {
  std::string url;  // as for Connection
  std::string channel;
  int connect_timeout_s = 5;
  int reconnect_backoff_base_ms = 50;
  int reconnect_backoff_max_ms = 2'000;
};

struct NotificationHandlers {
  std::function<void()> listening;                   // LISTEN took effect
  std::function<void(const std::string&)> heard;     // a notification's payload
  std::function<void()> deaf;                        // the connection was lost
};

class NotificationListener {
 public:
  // Starts listening at once, on its thread. `random` must outlive this.
  NotificationListener(NotificationOptions options, NotificationHandlers handlers, Random& random);
  // Stops (`deaf` runs if it was listening); the thread is joined, and no
  // handler runs afterwards.
  ~NotificationListener();
  NotificationListener(const NotificationListener&) = delete;
  NotificationListener& operator=(const NotificationListener&) = delete;

  // Whether LISTEN is in effect now.
  bool listening() const { return listening_; }

 private:
  void run();
  // Connects, listens and hears until the connection is lost or stop.
  void listen_once();
  // Waits up to `timeout_ms` for `fd` to be readable (-1: no socket) or
  // for stop; false on stop.
  bool wait(int fd, int timeout_ms);

  NotificationOptions options_;
  NotificationHandlers handlers_;
  Random& random_;
  int wake_fd_ = -1;  // an eventfd written by the destructor
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  std::thread thread_;
};

}  // namespace payd::ledger::postgres
