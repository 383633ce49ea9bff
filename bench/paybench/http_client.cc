// The keep-alive client on Asio; see http_client.h for the design.
//
// One io_context on the calling thread, one coroutine per connection. A
// connection's state (socket, buffers) lives in its coroutine frame; the
// only shared state is the source, a few counters and each connection's
// deadline, touched only from that one thread.
//
// The client shares the cores with the server it measures, so each
// exchange costs little of its own: the request goes out as one buffer,
// the answer is read with http_wire.h's reader into a buffer the
// connection keeps, and deadlines are kept by one watchdog that looks at
// every connection's every few milliseconds instead of a timer armed and
// cancelled around each read and write.
#include "bench/paybench/http_client.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cassert>
#include <chrono>
#include <cstring>
#include <deque>
#include <exception>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/paybench/http_wire.h"
#include "bench/paybench/json_fields.h"
#include "bench/paybench/retry.h"

namespace payd::bench {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// After a failed connect, a connection pauses before its next attempt, so
// a dead server is not hammered in a tight loop: 100 ms, then 200 ms, the
// most a restarted payd waits for its clients to come back.
constexpr auto reconnect_pause_min = std::chrono::milliseconds(100);
constexpr auto reconnect_pause_max = std::chrono::milliseconds(200);
constexpr std::int64_t exchange_retry_pause_us_max = 1'000'000;
constexpr std::size_t response_body_bytes_max = 8 * 1024 * 1024;
constexpr std::size_t described_body_bytes_max = 300;
constexpr std::size_t read_bytes_min = 16 * 1024;  // room made in the read buffer before each read
// An exchange due at a given time (open loop, retries) goes out at the
// first tick at or after it, so that the connections due within a tick
// share one wake of the event loop instead of one timer expiry each: at
// 10,000 requests/s over 256 connections paybench used 4.8-5.3 s of CPU in
// a 10 s run without ticks, 3.6-4.0 s with them. Latency counts from the
// time the exchange was due, so a tick adds to what is measured (0.25 ms
// at most) and never hides any.
constexpr std::int64_t send_tick_us = 250;
// How often the watchdog looks for connections past their deadline: a
// quarter of the deadline, within these bounds.
constexpr std::int64_t watchdog_interval_us_min = 5'000;
constexpr std::int64_t watchdog_interval_us_max = 100'000;

// What the watchdog knows of one connection: its socket while an
// operation is under way, and when that operation must have finished.
struct Deadline {
  tcp::socket* socket = nullptr;
  std::int64_t at_us = 0;  // 0: nothing under way
  bool expired = false;    // the watchdog cancelled the operation
};

struct DriveState {
  const DriveOptions& options;
  Clock& clock;
  ExchangeSource& source;
  std::vector<Deadline> deadlines;
  std::size_t connections_running = 0;
  asio::steady_timer* watchdog_timer = nullptr;  // cancelled when the last connection stops
  std::size_t connections_opened = 0;
  std::size_t connections_given_up = 0;
  std::string last_connect_error;
  std::exception_ptr exception;
};

// One connection's socket and buffers, and its entry in the watchdog's list.
struct Link {
  Link(DriveState& drive, std::size_t index, const asio::any_io_executor& executor)
      : state(drive), socket(executor), deadline(drive.deadlines[index]) {
    deadline.socket = &socket;
  }
  ~Link() { deadline = Deadline{}; }
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  void arm() {
    deadline.at_us = state.clock.monotonic_us() + state.options.request_timeout_ms * 1000;
    deadline.expired = false;
  }
  void disarm() { deadline.at_us = 0; }
  // The message for a failed operation: the watchdog's, or the socket's.
  std::string failure(std::string_view operation, const error_code& error) const {
    return std::string(operation) + ": " + (deadline.expired ? std::string("timed out") : error.message());
  }
  void close() {
    error_code ignored;
    socket.close(ignored);
    received = 0;
  }

  DriveState& state;
  tcp::socket socket;
  Deadline& deadline;
  std::string request;       // the request being sent, reused
  std::vector<char> buffer;  // what is read; it only grows, so it is not cleared for each read
  std::size_t received = 0;  // bytes at its start read and not yet taken as an answer
};

// Cancels the operation of every connection past its deadline, until no
// connection runs.
asio::awaitable<void> watchdog(DriveState& state) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  state.watchdog_timer = &timer;
  std::int64_t interval_us = std::clamp<std::int64_t>(state.options.request_timeout_ms * 250,
                                                      watchdog_interval_us_min, watchdog_interval_us_max);
  while (state.connections_running > 0) {
    timer.expires_after(std::chrono::microseconds(interval_us));
    co_await timer.async_wait(use_tuple);
    std::int64_t now_us = state.clock.monotonic_us();
    for (Deadline& deadline : state.deadlines) {
      if (deadline.socket == nullptr || deadline.at_us == 0 || deadline.at_us > now_us) continue;
      deadline.expired = true;
      deadline.at_us = 0;
      error_code ignored;
      deadline.socket->cancel(ignored);
    }
  }
  state.watchdog_timer = nullptr;
}

// Opens the socket; the error message, or empty when connected.
asio::awaitable<std::string> connect(DriveState& state, Link& link, const tcp::endpoint& endpoint) {
  link.arm();
  auto [error] = co_await link.socket.async_connect(endpoint, use_tuple);
  link.disarm();
  if (error) {
    state.last_connect_error = link.failure("connect to 127.0.0.1:" + std::to_string(endpoint.port()), error);
    link.close();  // a failed connect leaves the socket open; the next attempt needs a fresh one
    co_return state.last_connect_error;
  }
  error_code ignored;
  link.socket.set_option(tcp::no_delay(true), ignored);
  state.connections_opened += 1;
  co_return std::string();
}

// Connects, trying again after a growing pause while it fails. True once
// connected; false when the connection should stop: the source is finished,
// or the server stayed away (connect_failures_max failures in a row, or
// for reconnect_for_ms when that is set).
asio::awaitable<bool> reconnect(DriveState& state, Link& link, asio::steady_timer& timer,
                                const tcp::endpoint& endpoint) {
  std::int64_t first_failure_us = 0;
  auto pause = reconnect_pause_min;
  for (int failures = 0;; ++failures) {
    std::string error = co_await connect(state, link, endpoint);
    if (error.empty()) co_return true;
    std::int64_t now_us = state.clock.monotonic_us();
    if (failures == 0) first_failure_us = now_us;
    bool gave_up = state.options.reconnect_for_ms == 0
                       ? failures + 1 >= connect_failures_max
                       : now_us - first_failure_us >= state.options.reconnect_for_ms * 1000;
    if (gave_up) {
      state.connections_given_up += 1;
      co_return false;
    }
    if (state.source.finished(now_us)) co_return false;
    timer.expires_after(pause);
    co_await timer.async_wait(use_tuple);
    pause = std::min(pause * 2, reconnect_pause_max);
  }
}

// One request and its answer on an open connection. `keep_alive` is false
// afterwards when the connection must be reopened.
asio::awaitable<HttpResponse> send_and_read(Link& link, const HttpRequest& request, bool& keep_alive) {
  HttpResponse response;
  keep_alive = false;
  link.request.clear();
  write_request(request, link.request);
  link.arm();
  auto [write_error, written] = co_await asio::async_write(link.socket, asio::buffer(link.request), use_tuple);
  if (write_error) {
    link.disarm();
    response.transport_error = link.failure("write", write_error);
    co_return response;
  }
  std::vector<char>& buffer = link.buffer;
  for (;;) {
    WireResponse answer = read_response(std::string_view(buffer.data(), link.received), response_body_bytes_max);
    if (answer.state == WireResponse::State::complete) {
      link.disarm();
      response.status = answer.status;
      response.replayed = answer.replayed;
      response.body.assign(answer.body);
      keep_alive = answer.keep_alive;
      // Bytes after the answer (there should be none) stay for the next.
      std::memmove(buffer.data(), buffer.data() + answer.length, link.received - answer.length);
      link.received -= answer.length;
      co_return response;
    }
    if (answer.state == WireResponse::State::invalid) {
      link.disarm();
      response.transport_error = "read: " + answer.error;
      co_return response;
    }
    if (buffer.size() - link.received < read_bytes_min) {
      buffer.resize(link.received + std::max(buffer.size(), read_bytes_min));
    }
    auto [read_error, read] = co_await link.socket.async_read_some(
        asio::buffer(buffer.data() + link.received, buffer.size() - link.received), use_tuple);
    link.received += read;
    if (read_error) {
      link.disarm();
      response.transport_error = link.failure("read", read_error);
      co_return response;
    }
  }
}

// Waits until `time_us`, rounded up to a send tick.
asio::awaitable<void> wait_until(DriveState& state, asio::steady_timer& timer, std::int64_t time_us) {
  time_us = (time_us + send_tick_us - 1) / send_tick_us * send_tick_us;
  std::int64_t wait_us = time_us - state.clock.monotonic_us();
  if (wait_us <= 0) co_return;
  timer.expires_after(std::chrono::microseconds(wait_us));
  co_await timer.async_wait(use_tuple);
}

// One connection: exchanges until the source says done, or until it
// cannot reconnect. Bounded by the source, which must end, and by the
// reconnect limits; each exchange is bounded by the request timeout.
asio::awaitable<void> run_connection(DriveState& state, std::size_t connection) {
  auto executor = co_await asio::this_coro::executor;
  Link link(state, connection, executor);
  asio::steady_timer timer(executor);
  const auto& ports = state.options.ports;
  tcp::endpoint endpoint(asio::ip::address_v4::loopback(), ports[connection % ports.size()]);
  bool open = false;
  while (true) {
    if (!open) {
      bool connected = co_await reconnect(state, link, timer, endpoint);
      if (!connected) break;
      open = true;
    }
    std::optional<Exchange> exchange = state.source.next(connection, state.clock.monotonic_us());
    if (!exchange) break;
    co_await wait_until(state, timer, exchange->intended_send_us);
    std::int64_t sent_us = state.clock.monotonic_us();
    bool keep_alive = false;
    HttpResponse response = co_await send_and_read(link, exchange->request, keep_alive);
    if (!keep_alive) {
      link.close();
      open = false;
    }
    state.source.complete(connection, std::move(*exchange), std::move(response), sent_us, state.clock.monotonic_us());
  }
  error_code ignored;
  link.socket.shutdown(tcp::socket::shutdown_both, ignored);
  link.close();
}

// exchange_all's source: each request once, then the ones that asked to be
// retried, after a pause that doubles with each attempt.
class ListSource final : public ExchangeSource {
 public:
  ListSource(std::vector<HttpRequest> requests, int attempts_max)
      : requests_(std::move(requests)),
        responses_(requests_.size()),
        attempts_(requests_.size(), 0),
        attempts_max_(attempts_max) {
    assert(attempts_max_ >= 1);
  }

  std::optional<Exchange> next(std::size_t, std::int64_t) override {
    if (next_index_ < requests_.size()) return make_exchange(next_index_++, 0);
    if (retries_.empty()) return std::nullopt;
    auto [index, retry_at_us] = retries_.front();
    retries_.pop_front();
    return make_exchange(index, retry_at_us);
  }

  void complete(std::size_t, Exchange exchange, HttpResponse response, std::int64_t, std::int64_t done_us) override {
    auto index = static_cast<std::size_t>(exchange.tag);
    assert(index < requests_.size());
    assert(in_flight_ > 0);
    in_flight_ -= 1;
    std::string code = response.status >= 400 ? text_member(parse_object(response.body), "code") : std::string();
    attempts_[index] += 1;
    if (says_try_again(response.status, code) && attempts_[index] < attempts_max_) {
      std::int64_t pause_us = exchange_retry_pause_us;
      for (int attempt = 1; attempt < attempts_[index] && pause_us < exchange_retry_pause_us_max; ++attempt) {
        pause_us *= 2;
      }
      retries_.emplace_back(index, done_us + std::min(pause_us, exchange_retry_pause_us_max));
    }
    requests_[index] = std::move(exchange.request);
    responses_[index] = std::move(response);
  }

  bool finished(std::int64_t) override {
    return next_index_ == requests_.size() && retries_.empty() && in_flight_ == 0;
  }

  std::vector<HttpResponse> take_responses() { return std::move(responses_); }

 private:
  Exchange make_exchange(std::size_t index, std::int64_t intended_send_us) {
    in_flight_ += 1;
    return Exchange{index, requests_[index], intended_send_us};
  }

  std::vector<HttpRequest> requests_;
  std::vector<HttpResponse> responses_;
  std::vector<int> attempts_;
  const int attempts_max_;
  std::size_t next_index_ = 0;
  std::size_t in_flight_ = 0;
  std::deque<std::pair<std::size_t, std::int64_t>> retries_;
};

}  // namespace

std::string describe(const HttpResponse& response) {
  if (response.status == 0) return "no answer (" + response.transport_error + ")";
  return std::to_string(response.status) + " " + response.body.substr(0, described_body_bytes_max);
}

Outcome drive(const DriveOptions& options, Clock& clock, ExchangeSource& source) {
  assert(options.connections >= 1 && options.connections <= connections_max);
  assert(!options.ports.empty() && options.ports.size() <= ports_max);
  assert(options.request_timeout_ms > 0 && options.reconnect_for_ms >= 0);
  asio::io_context context(1);
  DriveState state{options, clock, source, std::vector<Deadline>(options.connections)};
  auto record = [&state](std::exception_ptr exception) {
    if (exception && !state.exception) state.exception = exception;
  };
  for (std::size_t connection = 0; connection < options.connections; ++connection) {
    state.connections_running += 1;
    asio::co_spawn(context, run_connection(state, connection), [&state, record](std::exception_ptr exception) {
      state.connections_running -= 1;
      if (state.connections_running == 0 && state.watchdog_timer != nullptr) state.watchdog_timer->cancel();
      record(exception);
    });
  }
  asio::co_spawn(context, watchdog(state), record);
  context.run();
  if (state.exception) std::rethrow_exception(state.exception);
  if (state.connections_given_up == options.connections) return Failure{state.last_connect_error};
  return Done{};
}

Expected<std::vector<HttpResponse>> exchange_all(const DriveOptions& options, Clock& clock,
                                                 std::vector<HttpRequest> requests) {
  DriveOptions bounded = options;
  bounded.connections = std::max<std::size_t>(1, std::min(options.connections, requests.size()));
  ListSource source(std::move(requests), options.attempts_max);
  Outcome outcome = drive(bounded, clock, source);
  if (!outcome.ok()) return Failure{outcome.message()};
  return source.take_responses();
}

}  // namespace payd::bench
