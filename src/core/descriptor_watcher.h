// DescriptorWatcher: be called on the server's event loop when a socket that
// someone else owns may be readable or writable, without Asio headers.
//
// For libraries that do their own I/O on a non-blocking socket (libpq): the
// owner asks to be called once when the socket is ready, then reads or
// writes through the library itself. The watcher never reads, writes or
// closes the descriptor.
//
// Readiness is edge-triggered underneath: data that arrived before wait()
// may not wake the waiter. So wait first, then try the I/O; a wakeup that
// finds nothing to do is harmless.
//
// Thread rules: wait() and forget() may be called from any thread. `ready`
// runs on the event loop, at most once per wait(). Keep at most one wait
// per descriptor and direction pending. Call forget(fd) before the
// descriptor is closed (or replaced by its library): waits still pending
// are dropped without running, except one already running on another
// thread, so `ready` checks its own state before it touches the socket.
#pragma once

#include <functional>

namespace payd {

class DescriptorWatcher {
 public:
  enum class Direction { readable, writable };

  virtual ~DescriptorWatcher() = default;
  // Calls `ready` once on the event loop when `fd` may be ready in
  // `direction` (or has failed: the library then reports the error). Work
  // still pending when the loop stops is dropped without running.
  virtual void wait(int fd, Direction direction, std::function<void()> ready) = 0;
  // Stops watching `fd` and drops its pending waits. Does nothing for a
  // descriptor not watched.
  virtual void forget(int fd) = 0;
};

}  // namespace payd
