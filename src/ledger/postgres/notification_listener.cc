#include "ledger/postgres/notification_listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <stdexcept>

#include "core/thread_name.h"
#include "ledger/postgres/connection.h"
#include "resilience/backoff.h"

namespace payd::ledger::postgres {
namespace {

// A channel name as an SQL identifier.
std::string quoted_identifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

NotificationListener::NotificationListener(NotificationOptions options, NotificationHandlers handlers, Random& random)
    : options_(std::move(options)), handlers_(std::move(handlers)), random_(random) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
  thread_ = std::thread([this] { run(); });
}

NotificationListener::~NotificationListener() {
  stopping_ = true;
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof one);
  thread_.join();
  close(wake_fd_);
}

bool NotificationListener::wait(int fd, int timeout_ms) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd, POLLIN, 0}};
  int ready = poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
  if (ready < 0 && errno != EINTR) throw std::runtime_error("poll failed");
  return !stopping_;
}

void NotificationListener::run() {
  name_this_thread("pg-listener");
  int failures = 0;
  while (!stopping_) {
    try {
      listen_once();
    } catch (const DatabaseError&) {
      // Not up, or lost: said below, then try again after the backoff.
    }
    if (listening_.exchange(false)) {
      failures = 0;  // it was up: the backoff starts again
      handlers_.deaf();
    }
    if (stopping_) return;
    auto delay = resilience::reconnect_delay(failures, options_.reconnect_backoff_base_ms,
                                             options_.reconnect_backoff_max_ms, random_);
    ++failures;
    wait(-1, static_cast<int>(delay.count()));
  }
}

void NotificationListener::listen_once() {
  Connection connection(options_.url, options_.connect_timeout_s);
  connection.execute("LISTEN " + quoted_identifier(options_.channel));
  listening_ = true;
  handlers_.listening();
  do {
    for (const std::string& payload : connection.notifications()) handlers_.heard(payload);
  } while (wait(connection.socket(), -1));
}

}  // namespace payd::ledger::postgres
