// Server: payd's HTTP/1.1 front door, on Asio and Beast.
//
// It owns sockets, parsing, the limits of API.md (body, headers, request and
// idle timeouts), admission control, request ids, HTTP metrics and the
// access log, and hands each complete request to a Handler (http.h). It
// knows nothing of payments.
//
// Design, in short:
//   - One coroutine per connection on its own strand (with one thread the
//     io_context itself serialises). A connection reads one request, waits
//     for its response and writes it before reading the next one, so
//     pipelined requests are answered in order and a connection holds at
//     most one request in the handler.
//   - A per-connection watchdog timer enforces the deadlines: idle keep-alive
//     (`idle_timeout_ms`, silent close), a started request
//     (`request_timeout_ms`, 408 then close) and writes.
//   - Admission control is one atomic counter: beyond `in_flight_max`
//     requests in the handler, a request is answered 503 `overloaded` with
//     `Retry-After: 1` without calling the handler.
//   - A Respond may be called from any thread, also after the connection
//     is gone or the server has stopped; the response is posted onto the
//     connection's strand, or dropped when there is no connection any more.
//     A Respond dropped without being called answers 500 internal_error, as
//     does a handler that throws.
//   - Server-made answers (400, 408, 413, 431, 503 overloaded) are
//     problem+json with the request id, counted with route "unmatched";
//     400, 408, 413 and 431 close the connection.
//
// Metrics: payd_http_requests_total{route,status},
// payd_http_request_duration_seconds{route} (first byte of the request to
// response ready), payd_http_in_flight, payd_http_shed_total,
// payd_http_connections. A request is counted before its response is
// written, so a client that has its response also finds it counted.
//
// This header includes no Asio or Beast header (pimpl), so the rest of payd
// compiles without them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/descriptor_watcher.h"
#include "core/ids.h"
#include "core/result.h"
#include "core/scheduler.h"
#include "http/http.h"
#include "metrics/metrics.h"

namespace payd::http {

class Server {
 public:
  struct Options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;  // 0: any free port, see start()
    int threads = 1;            // event loop threads, >= 1
    std::size_t body_bytes_max = 64 * 1024;   // larger bodies: 413 payload_too_large
    std::size_t header_bytes_max = 8 * 1024;  // request line and headers; larger: 431 headers_too_large
    int request_timeout_ms = 10000;  // a started request must arrive within this: else 408 request_timeout
    int idle_timeout_ms = 60000;     // an idle keep-alive connection closes after this
    int in_flight_max = 4096;        // requests in the handler at once; beyond: 503 overloaded
    int shutdown_grace_ms = 5000;    // how long stop() waits for requests in the handler
    bool access_log = true;          // one JSON line per request on stdout (stdio-buffered, flushed every second)
  };

  // The handler, registry, clock and id generator must outlive the server.
  // With threads > 1 the handler is called from several threads at once.
  // Registers the HTTP metrics in `registry`.
  Server(Options options, Handler& handler, metrics::Registry& registry, Clock& clock, IdGenerator& ids);
  // Stops the event loop if it still runs. Responses given to a Respond
  // after this are dropped. Call after run() has returned (or without run()).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens on options.address:options.port. Returns the bound
  // port (the chosen one when options.port is 0), or an internal_error
  // problem saying why the address cannot be listened on. Call once,
  // before run().
  Result<std::uint16_t> start();

  // Runs the event loop on options.threads threads (the calling one
  // included) until the server stops, then returns. Stops gracefully on
  // SIGINT, SIGTERM or stop(): accepting ends, idle connections and
  // half-received requests close, requests in the handler get up to
  // shutdown_grace_ms to be answered (their connections close after the
  // answer), then the loop stops and the on_shutdown hook runs on the
  // calling thread before run() returns. A second signal skips the grace
  // period. Catches SIGINT and SIGTERM only while it runs. Call once, after
  // a successful start(); without one it returns at once.
  void run();

  // Starts the graceful stop described at run(). Thread-safe, idempotent;
  // returns at once. Before run(), the stop happens as soon as run() starts.
  void stop();

  // Called once by run(), after the event loop has stopped and before run()
  // returns; e.g. to flush the ledger. Set before run().
  void set_on_shutdown(std::function<void()> on_shutdown);

  // Runs work on the server's event loop (any of its threads). Thread-safe.
  // Work still pending when the loop stops is dropped. Valid for the
  // server's life; do not use it after the server is destroyed.
  Scheduler& scheduler();

  // Wakes owners of sockets that Asio does not own (libpq's) on the
  // server's event loop; see core/descriptor_watcher.h. Same lifetime rules
  // as scheduler().
  DescriptorWatcher& descriptor_watcher();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace payd::http
