// The HTTP/1.1 keep-alive client that every phase of paybench sends through.
//
// drive() opens `connections` connections to 127.0.0.1 (and nowhere else),
// spread round-robin over the given ports (several payd nodes), and runs
// one coroutine per connection on a single thread: connect, ask the
// ExchangeSource for the next exchange, wait until its intended send time
// (rounded up to a 250 µs tick, see http_client.cc), send it, read the
// answer, hand it back, repeat until the source says done. Open and closed
// loops, setup and checks differ only in their source. Only http_client.cc
// includes Asio; this header keeps it away from the rest of paybench.
//
// Errors: a transport failure of a request (reset, timed out) is an answer
// with status 0 and a transport_error, never an exception; the connection
// is reopened before it takes its next exchange. A connection takes no
// exchange while it cannot connect. By default it gives up after a few
// failed connects in a row (a benchmark: payd is gone); with
// reconnect_for_ms it keeps trying, with growing pauses, for that long (a
// fault run: payd comes back), and stops early when the source is
// finished. When every connection has given up, drive() fails.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/paybench/expected.h"
#include "core/clock.h"

namespace payd::bench {

struct HttpRequest {
  std::string method;           // "GET" or "POST"
  std::string target;           // path and query, e.g. "/v1/transfers"
  std::string body;             // JSON; sent with Content-Type application/json when not empty
  std::string idempotency_key;  // empty: no Idempotency-Key header
};

struct HttpResponse {
  unsigned status = 0;    // 0: no answer, see transport_error
  bool replayed = false;  // the answer had Idempotent-Replayed: true
  std::string body;
  std::string transport_error;  // empty when there is an answer
};

// "STATUS BODY" of an answer (the body cut short), or why there is none,
// for messages.
std::string describe(const HttpResponse& response);

// One request on its way. The tag is the source's own reference.
struct Exchange {
  std::uint64_t tag = 0;
  HttpRequest request;
  std::int64_t intended_send_us = 0;  // Clock::monotonic_us(); sent no earlier
};

// Feeds the connections. drive() calls it from its one thread only, so an
// implementation needs no locks.
class ExchangeSource {
 public:
  virtual ~ExchangeSource() = default;
  // The next exchange for `connection`, or nullopt when that connection is
  // done. Must return nullopt eventually: drive() runs until every
  // connection is done.
  virtual std::optional<Exchange> next(std::size_t connection, std::int64_t now_us) = 0;
  // The answer to an exchange returned by next(), exactly once each.
  // `sent_us` is when it was actually written (at or after the intended
  // time), `done_us` when its answer was read (or the transport failed).
  virtual void complete(std::size_t connection, Exchange exchange, HttpResponse response, std::int64_t sent_us,
                        std::int64_t done_us) = 0;
  // Whether next() will return nullopt from now on, whatever answers are
  // still to come; a connection waiting to reconnect stops then.
  virtual bool finished(std::int64_t now_us) = 0;
};

struct DriveOptions {
  std::vector<std::uint16_t> ports;          // on 127.0.0.1; connection i goes to ports[i % size], at least one
  std::size_t connections = 1;               // 1..connections_max
  std::int64_t request_timeout_ms = 30'000;  // per write and per read
  std::int64_t reconnect_for_ms = 0;         // 0: give up after connect_failures_max failed connects in a row
  int attempts_max = 5;                      // exchange_all: sends of one request at most, >= 1
};

inline constexpr std::size_t connections_max = 4096;
inline constexpr std::size_t ports_max = 16;
inline constexpr int connect_failures_max = 3;

// Runs the source to its end over keep-alive connections. Fails when every
// connection gave up reconnecting (nothing listens on the port any more);
// other transport errors are answers with status 0.
Outcome drive(const DriveOptions& options, Clock& clock, ExchangeSource& source);

// Sends every request over up to options.connections connections and
// returns the answers in the order of `requests`. Answers that say "try
// again" (retry.h) are sent again after a pause that doubles from
// exchange_retry_pause_us, up to options.attempts_max sends in all, so
// every request must be safe to repeat (a GET, or a POST with an
// Idempotency-Key). What is still failing after that is returned as is.
inline constexpr std::int64_t exchange_retry_pause_us = 100'000;
Expected<std::vector<HttpResponse>> exchange_all(const DriveOptions& options, Clock& clock,
                                                 std::vector<HttpRequest> requests);

}  // namespace payd::bench
