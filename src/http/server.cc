// The HTTP server on Asio and Beast; see server.h for the design.
//
// Pieces, in the order of this file:
//   RequestParser  Beast's basic_parser filling a payd Request directly, so a
//                  request costs no header map: only the fields payd reads.
//   HttpMetrics    the Prometheus series, with per-route lookups cached.
//   ResponseSlot   what a Respond holds: it carries a response from any
//                  thread back onto the connection's strand, or drops it
//                  when the connection or the server is gone.
//   Connection     one coroutine per connection: read, admit, handle, write.
//   Impl           acceptor, signals, graceful stop, the event loop threads.
//
// Lifetimes: connections live inside the io_context (coroutine frames and
// pending handlers hold them). Nothing outside the event loop holds a
// connection, only weak references, and those are locked under the
// Lifetime guard, which the server closes before it destroys the
// io_context. So a late Respond never touches freed memory.
#include "http/server.h"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/json_writer.h"
#include "core/problem.h"
#include "core/thread_name.h"

namespace payd::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Bytes asked of the socket per read; the connection's buffer grows to the
// header limit plus this at most.
constexpr std::size_t read_chunk_bytes = 16 * 1024;
// After an error response that closes the connection, the server reads and
// discards what the client still sends (its unread body) for a while, so
// the client sees the response rather than a reset.
constexpr std::size_t linger_bytes_max = 256 * 1024;
// How often a stopping server checks whether its connections are gone.
constexpr auto shutdown_poll_interval = std::chrono::milliseconds(10);
// The access log goes through stdio's buffer; it is flushed this often.
constexpr auto access_log_flush_interval = std::chrono::seconds(1);
// After accept fails (e.g. out of file descriptors), wait before retrying.
constexpr auto accept_retry_delay = std::chrono::milliseconds(10);
constexpr std::string_view unmatched_route = "unmatched";

static_assert(linger_bytes_max >= read_chunk_bytes);

void append_number(std::string& out, std::uint64_t number) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof digits, number);
  out.append(digits, end);
}

void append_two_digits(std::string& out, int number) {
  out.push_back(static_cast<char>('0' + number / 10));
  out.push_back(static_cast<char>('0' + number % 10));
}

// The IMF-fixdate of RFC 9110 for the Date header: "Sun, 06 Nov 1994
// 08:49:37 GMT". Cached per thread for the current second.
std::string_view http_date(std::int64_t unix_ms) {
  static constexpr std::array<std::string_view, 7> days = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::int64_t cached_second = -1;
  thread_local std::string cached;
  std::int64_t second = unix_ms / 1000;
  if (second == cached_second) return cached;
  std::time_t seconds = static_cast<std::time_t>(second);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  cached.clear();
  cached += days[static_cast<std::size_t>(utc.tm_wday)];
  cached += ", ";
  append_two_digits(cached, utc.tm_mday);
  cached += ' ';
  cached += months[static_cast<std::size_t>(utc.tm_mon)];
  cached += ' ';
  append_number(cached, static_cast<std::uint64_t>(utc.tm_year + 1900));
  cached += ' ';
  append_two_digits(cached, utc.tm_hour);
  cached += ':';
  append_two_digits(cached, utc.tm_min);
  cached += ':';
  append_two_digits(cached, utc.tm_sec);
  cached += " GMT";
  cached_second = second;
  return cached;
}

// RFC 3339 UTC with milliseconds for the access log: 2026-11-23T10:40:05.123Z.
void append_timestamp(std::string& out, std::int64_t unix_ms) {
  thread_local std::int64_t cached_second = -1;
  thread_local std::string cached_prefix;  // up to the seconds, without the 'Z'
  std::int64_t second = unix_ms / 1000;
  if (second != cached_second) {
    cached_prefix = format_rfc3339(unix_ms);
    cached_prefix.pop_back();
    cached_second = second;
  }
  out += cached_prefix;
  int millisecond = static_cast<int>(unix_ms % 1000);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + millisecond / 100));
  append_two_digits(out, millisecond % 100);
  out.push_back('Z');
}

bool status_has_body(unsigned status) { return status >= 200 && status != 204 && status != 304; }

// A header from the handler that would break the response framing is dropped.
bool header_is_safe(const Header& header) {
  auto breaks_line = [](char c) { return c == '\r' || c == '\n'; };
  if (header.name.empty() || header.name.find(':') != std::string::npos) return false;
  return std::none_of(header.name.begin(), header.name.end(), breaks_line) &&
         std::none_of(header.value.begin(), header.value.end(), breaks_line);
}

Response problem_response(const Problem& problem, std::string_view request_id) {
  Response response;
  response.status = problem.status();
  response.content_type = "application/problem+json";
  response.body = render_problem(problem, request_id);
  if (problem.retry_after_s > 0) response.headers.push_back({"Retry-After", std::to_string(problem.retry_after_s)});
  for (const auto& [name, value] : problem.headers) response.headers.push_back({name, value});
  return response;
}

// Parses one request into a payd Request. Not reusable: one per request.
class RequestParser final : public beast::http::basic_parser<true> {
 public:
  explicit RequestParser(Request& request) : request_(request) {}

  int version() const { return version_; }  // 10 or 11
  bool expects_continue() const { return expects_continue_ && version_ >= 11; }

 private:
  void on_request_impl(beast::http::verb, beast::string_view method, beast::string_view target, int version,
                       error_code&) override {
    request_.method.assign(method.data(), method.size());
    request_.target.assign(target.data(), target.size());
    std::string_view whole(target.data(), target.size());
    std::size_t question = whole.find('?');
    request_.path.assign(whole.substr(0, question));
    if (question != std::string_view::npos) request_.query.assign(whole.substr(question + 1));
    version_ = version;
  }
  void on_response_impl(int, beast::string_view, int, error_code&) override {}
  void on_field_impl(beast::http::field name, beast::string_view name_string, beast::string_view value,
                     error_code&) override {
    if (name == beast::http::field::content_type) {
      request_.content_type.assign(value.data(), value.size());
    } else if (name == beast::http::field::expect) {
      expects_continue_ = beast::iequals(value, "100-continue");
    } else if (!request_.idempotency_key && beast::iequals(name_string, "idempotency-key")) {
      request_.idempotency_key.emplace(value.data(), value.size());
    }
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code&) override {
    // The parser has checked content_length against the body limit already.
    if (content_length) request_.body.reserve(static_cast<std::size_t>(*content_length));
  }
  std::size_t on_body_impl(beast::string_view body, error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  Request& request_;
  int version_ = 11;
  bool expects_continue_ = false;
};

// The HTTP series. Per-route series are looked up in the registry once and
// then found in a small map; the updates themselves take no lock.
class HttpMetrics {
 public:
  explicit HttpMetrics(metrics::Registry& registry)
      : in_flight(registry.gauge("payd_http_in_flight", "Requests being handled right now.")),
        shed(registry.counter("payd_http_shed_total",
                              "Requests answered 503 overloaded by admission control, without being handled.")),
        connections(registry.gauge("payd_http_connections", "Open client connections.")),
        registry_(registry) {
    std::lock_guard lock(mutex_);
    series_for(unmatched_route);
  }

  // Counts one answered request and its duration. `route` empty: unmatched.
  void record(std::string_view route, unsigned status, double duration_s) {
    if (route.empty()) route = unmatched_route;
    metrics::Histogram* duration = nullptr;
    metrics::Counter* requests = nullptr;
    {
      std::lock_guard lock(mutex_);
      RouteSeries& series = series_for(route);
      duration = series.duration;
      requests = counter_for(route, series, status);
    }
    duration->observe(duration_s);
    requests->add();
  }

  metrics::Gauge& in_flight;
  metrics::Counter& shed;
  metrics::Gauge& connections;

 private:
  struct RouteSeries {
    metrics::Histogram* duration = nullptr;
    std::vector<std::pair<unsigned, metrics::Counter*>> requests;  // by status
  };

  // Both called with mutex_ held.
  RouteSeries& series_for(std::string_view route) {
    auto found = routes_.find(route);
    if (found != routes_.end()) return found->second;
    RouteSeries series;
    series.duration = &registry_.histogram("payd_http_request_duration_seconds",
                                           "Time from a request's first byte to its response being ready to write.",
                                           metrics::latency_buckets_s(), {{"route", std::string(route)}});
    return routes_.emplace(std::string(route), std::move(series)).first->second;
  }
  metrics::Counter* counter_for(std::string_view route, RouteSeries& series, unsigned status) {
    for (const auto& [known, counter] : series.requests) {
      if (known == status) return counter;
    }
    metrics::Counter* counter = &registry_.counter("payd_http_requests_total", "HTTP requests answered.",
                                                   {{"route", std::string(route)}, {"status", std::to_string(status)}});
    series.requests.emplace_back(status, counter);
    return counter;
  }

  metrics::Registry& registry_;
  std::mutex mutex_;
  std::map<std::string, RouteSeries, std::less<>> routes_;
};

// Whether the event loop may still be posted to. Closed by the server before
// it destroys the io_context; holders of the shared lock may post.
struct Lifetime {
  std::shared_mutex mutex;
  bool running = true;
};

class Connection;

// What connections share with the server: configuration, dependencies,
// admission control and the registry of open connections. Thread-safe
// where noted; the rest is immutable after construction.
struct ServerCore {
  ServerCore(Server::Options options_in, Handler& handler_in, metrics::Registry& registry, Clock& clock_in,
             IdGenerator& ids_in)
      : options(std::move(options_in)),
        handler(handler_in),
        clock(clock_in),
        ids(ids_in),
        metrics(registry),
        watchdog_interval(std::max(1, std::min(options.request_timeout_ms, options.idle_timeout_ms))) {}

  // Admission control, thread-safe: true when the request may go to the
  // handler; every true is paired with one release().
  bool admit();
  void release();
  // The connections whose coroutine runs, for graceful stop. Thread-safe.
  void add_connection(Connection* connection);
  void remove_connection(Connection* connection);
  std::size_t connection_count();
  // Asks every connection to close after its current request. Thread-safe.
  void stop_connections();

  const Server::Options options;
  Handler& handler;
  Clock& clock;
  IdGenerator& ids;
  HttpMetrics metrics;
  const std::shared_ptr<Lifetime> lifetime = std::make_shared<Lifetime>();
  // A connection's watchdog wakes at least this often, so a deadline set
  // later is never missed (see Connection::arm_watchdog).
  const std::chrono::milliseconds watchdog_interval;
  std::atomic<bool> stopping{false};

 private:
  std::atomic<int> in_flight_{0};
  std::mutex connections_mutex_;
  std::unordered_set<Connection*> connections_;
};

}  // namespace

struct Server::Impl : ServerCore {
  Impl(Options options_in, Handler& handler_in, metrics::Registry& registry, Clock& clock_in, IdGenerator& ids_in);
  ~Impl();

  Result<std::uint16_t> start();
  void run();
  void stop();

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> flush_access_log_loop();
  void wait_for_signal();
  void shut_down();  // on the control strand
  asio::awaitable<void> drain_connections();

  std::function<void()> on_shutdown;
  // Destroyed explicitly, in this order, by ~Impl.
  std::optional<asio::io_context> io_context;
  std::optional<asio::strand<asio::io_context::executor_type>> control;  // acceptor, signals, stop
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::signal_set> signals;

  class AsioScheduler final : public Scheduler {
   public:
    explicit AsioScheduler(Impl& server) : server_(server) {}
    void post(std::function<void()> work) override {
      std::shared_lock lock(server_.lifetime->mutex);
      if (server_.lifetime->running) asio::post(*server_.io_context, std::move(work));
    }
    void post_after(std::chrono::milliseconds delay, std::function<void()> work) override {
      std::shared_lock lock(server_.lifetime->mutex);
      if (!server_.lifetime->running) return;
      auto timer = std::make_shared<asio::steady_timer>(*server_.io_context, delay);
      timer->async_wait([timer, work = std::move(work)](error_code error) {
        if (!error) work();
      });
    }

   private:
    Impl& server_;
  } scheduler{*this};

  // One non-owning stream_descriptor per watched descriptor: release()d,
  // never closed, so the library that owns the socket keeps it. A wait
  // carries the generation of the descriptor it was made for, so one that
  // completes after forget() (or after the number was reused) is dropped.
  class AsioDescriptorWatcher final : public DescriptorWatcher {
   public:
    explicit AsioDescriptorWatcher(Impl& server) : server_(server) {}
    void wait(int fd, Direction direction, std::function<void()> ready) override {
      std::shared_lock lifetime_lock(server_.lifetime->mutex);
      if (!server_.lifetime->running) return;
      std::lock_guard lock(mutex_);
      Watched& watched = descriptors_[fd];
      if (!watched.descriptor) {
        watched.descriptor = std::make_unique<asio::posix::stream_descriptor>(*server_.io_context, fd);
        watched.generation = ++generations_;
      }
      auto type = direction == Direction::readable ? asio::posix::stream_descriptor::wait_read
                                                   : asio::posix::stream_descriptor::wait_write;
      watched.descriptor->async_wait(type, [this, fd, generation = watched.generation,
                                            ready = std::move(ready)](error_code error) {
        if (error == asio::error::operation_aborted || !watching(fd, generation)) return;
        ready();
      });
    }
    void forget(int fd) override {
      std::lock_guard lock(mutex_);
      auto found = descriptors_.find(fd);
      if (found == descriptors_.end()) return;
      release(found->second);
      descriptors_.erase(found);
    }
    // Before the io_context goes: no descriptor may outlive it.
    void forget_all() {
      std::lock_guard lock(mutex_);
      for (auto& [fd, watched] : descriptors_) release(watched);
      descriptors_.clear();
    }

   private:
    struct Watched {
      std::unique_ptr<asio::posix::stream_descriptor> descriptor;
      std::uint64_t generation = 0;
    };
    static void release(Watched& watched) {
      error_code ignored;
      watched.descriptor->cancel(ignored);
      watched.descriptor->release();
    }
    bool watching(int fd, std::uint64_t generation) {
      std::lock_guard lock(mutex_);
      auto found = descriptors_.find(fd);
      return found != descriptors_.end() && found->second.generation == generation;
    }

    Impl& server_;
    std::mutex mutex_;
    std::unordered_map<int, Watched> descriptors_;
    std::uint64_t generations_ = 0;
  } descriptor_watcher{*this};
};

namespace {

// What a Respond holds. answer() runs at most once; if every copy of the
// Respond is dropped without an answer, the request gets a 500.
class ResponseSlot {
 public:
  ResponseSlot(std::weak_ptr<Connection> connection, std::shared_ptr<Lifetime> lifetime)
      : connection_(std::move(connection)), lifetime_(std::move(lifetime)) {}
  ~ResponseSlot() {
    if (!answered_.load()) answer(problem_response(make_problem("internal_error", "the handler gave no response"), {}));
  }
  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;

  void answer(Response response);
  // While set to a thread, an answer from that thread is delivered at once:
  // it is the connection's own thread, inside Handler::handle.
  void set_inline_thread(std::thread::id thread) { inline_thread_.store(thread); }

 private:
  std::weak_ptr<Connection> connection_;
  std::shared_ptr<Lifetime> lifetime_;
  std::atomic<bool> answered_{false};
  std::atomic<std::thread::id> inline_thread_{};
};

// One client connection. Its coroutine and watchdog run on the connection's
// executor (a strand when the loop has several threads); every member is
// used only there, except `executor_`, which is immutable.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore& server, tcp::socket socket)
      : server_(server),
        executor_(socket.get_executor()),
        socket_(std::move(socket)),
        watchdog_(executor_),
        response_signal_(executor_, SteadyClock::time_point::max()) {}

  const asio::any_io_executor& executor() const { return executor_; }

  // Serves requests until the connection ends. `self` keeps it alive.
  asio::awaitable<void> run(std::shared_ptr<Connection> self);
  // Takes the response to the request being handled. On the executor.
  void accept_response(Response response);
  // Asks the connection to end after its current request. Any thread.
  void post_stop();

 private:
  enum class Phase { reading, handling, writing, lingering };
  enum class ReadOutcome { request, closed, malformed, body_too_large, headers_too_large, timed_out };

  asio::awaitable<bool> serve_one();
  asio::awaitable<ReadOutcome> read_request();
  std::optional<ReadOutcome> parse_buffered();
  asio::awaitable<bool> answer_request();
  asio::awaitable<void> call_handler();
  asio::awaitable<void> answer_problem_and_close(std::string_view code, std::string detail);
  asio::awaitable<bool> send_response(bool keep_alive);
  asio::awaitable<void> linger();
  void serialize_head(bool keep_alive);
  void record_request();
  void write_access_log(unsigned status, std::int64_t duration_us);
  void begin_request();
  void set_deadline_after_ms(int timeout_ms);
  void arm_watchdog();
  void on_watchdog();
  void close();

  ServerCore& server_;
  const asio::any_io_executor executor_;
  tcp::socket socket_;
  asio::steady_timer watchdog_;
  asio::steady_timer response_signal_;  // never expires; cancelled when a response arrives
  beast::flat_buffer buffer_;           // received bytes not yet parsed; kept across requests
  std::optional<RequestParser> parser_;
  Request request_;
  Response response_;
  Phase phase_ = Phase::reading;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  bool timed_out_ = false;
  bool response_ready_ = false;
  bool head_request_ = false;
  bool closed_ = false;
  int http_version_ = 11;
  std::string parse_error_;
  std::string request_id_;
  std::int64_t started_us_ = 0;  // monotonic time of the request's first byte
  std::string head_;             // serialised response head, reused
  std::string log_method_;
  std::string log_path_;
  std::string log_line_;
};

void ResponseSlot::answer(Response response) {
  if (answered_.exchange(true)) return;  // a second answer is a handler bug; the first one stands
  if (inline_thread_.load() == std::this_thread::get_id()) {
    if (auto connection = connection_.lock()) connection->accept_response(std::move(response));
    return;
  }
  std::shared_lock lock(lifetime_->mutex);
  if (!lifetime_->running) return;
  std::shared_ptr<Connection> connection = connection_.lock();
  if (!connection) return;  // the peer went away; nobody to answer
  asio::post(connection->executor(), [connection, response = std::move(response)]() mutable {
    connection->accept_response(std::move(response));
  });
}

}  // namespace

asio::awaitable<void> Connection::run(std::shared_ptr<Connection> self) {
  // Registered for graceful stop while this coroutine runs, also when its
  // frame is destroyed by a stopped event loop.
  struct Registration {
    ServerCore& server;
    Connection* connection;
    Registration(ServerCore& s, Connection* c) : server(s), connection(c) { server.add_connection(connection); }
    ~Registration() { server.remove_connection(connection); }
  } registration(server_, self.get());

  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  arm_watchdog();
  for (bool keep_open = true; keep_open;) keep_open = co_await serve_one();
  close();
}

void Connection::close() {
  closed_ = true;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  watchdog_.cancel();
}

void Connection::post_stop() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->phase_ == Phase::reading || self->phase_ == Phase::lingering) {
      error_code ignored;
      self->socket_.cancel(ignored);
    }
  });
}

// True when the connection stays open for another request.
asio::awaitable<bool> Connection::serve_one() {
  ReadOutcome outcome = co_await read_request();
  switch (outcome) {
    case ReadOutcome::request: {
      bool keep_open = co_await answer_request();
      co_return keep_open;
    }
    case ReadOutcome::closed:
      co_return false;
    case ReadOutcome::malformed:
      co_await answer_problem_and_close("invalid_request", "malformed HTTP request: " + parse_error_);
      co_return false;
    case ReadOutcome::body_too_large:
      co_await answer_problem_and_close("payload_too_large", "the request body is larger than " +
                                                                 std::to_string(server_.options.body_bytes_max) +
                                                                 " bytes");
      co_return false;
    case ReadOutcome::headers_too_large:
      co_await answer_problem_and_close("headers_too_large", "the request headers are larger than " +
                                                                 std::to_string(server_.options.header_bytes_max) +
                                                                 " bytes");
      co_return false;
    case ReadOutcome::timed_out:
      co_await answer_problem_and_close("request_timeout", "the request did not arrive completely within " +
                                                               std::to_string(server_.options.request_timeout_ms) +
                                                               " ms");
      co_return false;
  }
  co_return false;
}

// Feeds the buffered bytes to the parser: `request` when a whole request is
// parsed, an error outcome, or nothing when more bytes are needed.
std::optional<Connection::ReadOutcome> Connection::parse_buffered() {
  while (buffer_.size() > 0) {
    error_code error;
    std::size_t used = parser_->put(buffer_.data(), error);
    buffer_.consume(used);
    if (error == beast::http::error::need_more) return std::nullopt;
    if (error == beast::http::error::body_limit) return ReadOutcome::body_too_large;
    if (error == beast::http::error::header_limit) return ReadOutcome::headers_too_large;
    if (error) {
      parse_error_ = error.message();
      return ReadOutcome::malformed;
    }
    if (parser_->is_done()) return ReadOutcome::request;
    if (used == 0) return std::nullopt;
  }
  return std::nullopt;
}

asio::awaitable<Connection::ReadOutcome> Connection::read_request() {
  request_ = Request{};
  parser_.emplace(request_);
  parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_bytes_max));
  parser_->body_limit(server_.options.body_bytes_max);
  parser_->eager(true);
  phase_ = Phase::reading;
  bool started = buffer_.size() > 0;  // pipelined bytes are already here
  bool continue_sent = false;
  if (started) {
    begin_request();
  } else {
    set_deadline_after_ms(server_.options.idle_timeout_ms);
  }
  for (;;) {
    if (std::optional<ReadOutcome> outcome = parse_buffered()) co_return *outcome;
    if (!started && server_.stopping.load()) co_return ReadOutcome::closed;
    if (parser_->is_header_done() && parser_->expects_continue() && !continue_sent) {
      continue_sent = true;
      static constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [error, written] = co_await asio::async_write(socket_, asio::buffer(continue_response), use_tuple);
      if (error || timed_out_) co_return ReadOutcome::closed;
    }
    auto [error, received] = co_await socket_.async_read_some(buffer_.prepare(read_chunk_bytes), use_tuple);
    buffer_.commit(received);
    if (timed_out_) co_return started ? ReadOutcome::timed_out : ReadOutcome::closed;
    if (error) co_return ReadOutcome::closed;  // the peer left, or the server is stopping
    if (!started) {
      started = true;
      begin_request();
    }
  }
}

void Connection::begin_request() {
  started_us_ = server_.clock.monotonic_us();
  set_deadline_after_ms(server_.options.request_timeout_ms);
}

// Answers a parsed request; true when the connection stays open.
asio::awaitable<bool> Connection::answer_request() {
  http_version_ = parser_->version();
  head_request_ = request_.method == "HEAD";
  request_.request_id = server_.ids.next(IdType::request);
  request_id_.assign(request_.request_id);  // request_ goes to the handler; this copy reuses its buffer
  if (server_.options.access_log) {
    log_method_ = request_.method;
    log_path_ = request_.path;
  }
  if (server_.admit()) {
    co_await call_handler();
    server_.release();
  } else {
    server_.metrics.shed.add();
    response_ = problem_response(retry_soon("overloaded", "too many requests in flight"), request_id_);
  }
  bool keep_alive = parser_->keep_alive() && !server_.stopping.load();
  bool written = co_await send_response(keep_alive);
  co_return written && keep_alive;
}

asio::awaitable<void> Connection::call_handler() {
  phase_ = Phase::handling;
  deadline_ = SteadyClock::time_point::max();  // the handler has its own deadlines
  response_ready_ = false;
  auto slot = std::make_shared<ResponseSlot>(weak_from_this(), server_.lifetime);
  slot->set_inline_thread(std::this_thread::get_id());
  try {
    server_.handler.handle(std::move(request_), [slot](Response response) { slot->answer(std::move(response)); });
  } catch (const std::exception& error) {
    std::fprintf(stderr, "http handler threw for %s: %s\n", request_id_.c_str(), error.what());
  } catch (...) {
    std::fprintf(stderr, "http handler threw for %s\n", request_id_.c_str());
  }
  // A slot nobody else holds any more is answered (500) inline on release.
  if (slot.use_count() > 1) slot->set_inline_thread(std::thread::id());
  slot.reset();
  while (!response_ready_) {
    co_await response_signal_.async_wait(use_tuple);  // cancelled by accept_response
  }
}

void Connection::accept_response(Response response) {
  if (phase_ != Phase::handling || response_ready_) return;
  response_ = std::move(response);
  response_ready_ = true;
  response_signal_.cancel();
}

asio::awaitable<void> Connection::answer_problem_and_close(std::string_view code, std::string detail) {
  request_id_ = server_.ids.next(IdType::request);
  http_version_ = 11;
  head_request_ = false;
  if (server_.options.access_log) {
    log_method_ = request_.method;
    log_path_ = request_.path;
  }
  response_ = problem_response(make_problem(code, std::move(detail)), request_id_);
  bool written = co_await send_response(false);
  if (written) co_await linger();
}

// Writes response_; true when it was written completely in time.
asio::awaitable<bool> Connection::send_response(bool keep_alive) {
  serialize_head(keep_alive);
  bool with_body = !head_request_ && status_has_body(response_.status);
  asio::const_buffer body = with_body ? asio::buffer(std::as_const(response_.body)) : asio::const_buffer();
  std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_), body};
  // Recorded before the write, so that a client that has its response
  // also finds it in the metrics.
  record_request();
  phase_ = Phase::writing;
  set_deadline_after_ms(server_.options.request_timeout_ms);
  auto [error, written] = co_await asio::async_write(socket_, buffers, use_tuple);
  co_return !error && !timed_out_;
}

void Connection::serialize_head(bool keep_alive) {
  if (response_.status < 100 || response_.status > 999) response_.status = 500;
  unsigned status = response_.status;
  head_.clear();
  head_ += "HTTP/1.1 ";
  append_number(head_, status);
  head_ += ' ';
  beast::string_view reason = beast::http::obsolete_reason(beast::http::int_to_status(status));
  head_.append(reason.data(), reason.size());
  head_ += "\r\nDate: ";
  head_ += http_date(server_.clock.now_ms());
  head_ += "\r\n";
  if (status_has_body(status)) {
    if (!response_.content_type.empty()) {
      head_ += "Content-Type: ";
      head_ += response_.content_type;
      head_ += "\r\n";
    }
    head_ += "Content-Length: ";
    append_number(head_, response_.body.size());
    head_ += "\r\n";
  }
  head_ += "X-Request-Id: ";
  head_ += request_id_;
  head_ += "\r\n";
  for (const Header& header : response_.headers) {
    if (!header_is_safe(header)) continue;
    head_ += header.name;
    head_ += ": ";
    head_ += header.value;
    head_ += "\r\n";
  }
  if (!keep_alive) {
    head_ += "Connection: close\r\n";
  } else if (http_version_ == 10) {
    head_ += "Connection: keep-alive\r\n";
  }
  head_ += "\r\n";
}

void Connection::record_request() {
  std::int64_t duration_us = server_.clock.monotonic_us() - started_us_;
  if (duration_us < 0) duration_us = 0;
  server_.metrics.record(response_.route, response_.status, static_cast<double>(duration_us) / 1e6);
  if (server_.options.access_log) write_access_log(response_.status, duration_us);
}

void Connection::write_access_log(unsigned status, std::int64_t duration_us) {
  log_line_.clear();
  log_line_ += "{\"ts\":\"";
  append_timestamp(log_line_, server_.clock.now_ms());
  log_line_ += "\",\"request_id\":";
  append_json_string(log_line_, request_id_);
  log_line_ += ",\"method\":";
  append_json_string(log_line_, log_method_);
  log_line_ += ",\"path\":";
  append_json_string(log_line_, log_path_);
  log_line_ += ",\"route\":";
  append_json_string(log_line_, response_.route.empty() ? unmatched_route : std::string_view(response_.route));
  log_line_ += ",\"status\":";
  append_number(log_line_, status);
  log_line_ += ",\"duration_us\":";
  append_number(log_line_, static_cast<std::uint64_t>(duration_us));
  log_line_ += "}\n";
  // One fwrite per line: stdio's lock keeps lines whole across threads.
  std::fwrite(log_line_.data(), 1, log_line_.size(), stdout);
}

// Half-closes, then reads and drops what the client still sends, until it
// closes too, linger_bytes_max is read or the request timeout passes.
asio::awaitable<void> Connection::linger() {
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  phase_ = Phase::lingering;
  set_deadline_after_ms(server_.options.request_timeout_ms);
  std::size_t drained_bytes = 0;
  while (drained_bytes < linger_bytes_max) {
    auto [error, received] = co_await socket_.async_read_some(buffer_.prepare(read_chunk_bytes), use_tuple);
    if (error || timed_out_) break;
    drained_bytes += received;
  }
}

void Connection::set_deadline_after_ms(int timeout_ms) {
  deadline_ = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  timed_out_ = false;
}

// The watchdog sleeps until the deadline, but never longer than the
// server's watchdog_interval (the smallest timeout). Every deadline is set
// at least that far in the future, so it is never later than the wake-up
// already armed, and moving a deadline needs no timer operation.
void Connection::arm_watchdog() {
  watchdog_.expires_at(std::min(deadline_, SteadyClock::now() + server_.watchdog_interval));
  watchdog_.async_wait([self = shared_from_this()](error_code) { self->on_watchdog(); });
}

void Connection::on_watchdog() {
  if (closed_) return;
  if (SteadyClock::now() >= deadline_) {
    timed_out_ = true;
    deadline_ = SteadyClock::time_point::max();
    error_code ignored;
    socket_.cancel(ignored);
  }
  arm_watchdog();
}

Server::Impl::Impl(Options options_in, Handler& handler_in, metrics::Registry& registry, Clock& clock_in,
                   IdGenerator& ids_in)
    : ServerCore(std::move(options_in), handler_in, registry, clock_in, ids_in) {
  io_context.emplace(std::max(1, options.threads));
  control.emplace(asio::make_strand(io_context->get_executor()));
  acceptor.emplace(*control);
}

Server::Impl::~Impl() {
  {
    std::unique_lock lock(lifetime->mutex);
    lifetime->running = false;
  }
  descriptor_watcher.forget_all();
  signals.reset();
  acceptor.reset();
  control.reset();
  io_context.reset();  // destroys the connections still open and all pending work
}

Result<std::uint16_t> Server::Impl::start() {
  std::string where = options.address + ":" + std::to_string(options.port);
  auto failure = [&](const error_code& error) -> Result<std::uint16_t> {
    error_code ignored;
    acceptor->close(ignored);
    return make_problem("internal_error", "cannot listen on " + where + ": " + error.message());
  };
  error_code error;
  asio::ip::address address = asio::ip::make_address(options.address, error);
  if (error) return failure(error);
  tcp::endpoint endpoint(address, options.port);
  acceptor->open(endpoint.protocol(), error);
  if (!error) acceptor->set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor->bind(endpoint, error);
  if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
  if (error) return failure(error);
  tcp::endpoint bound = acceptor->local_endpoint(error);
  if (error) return failure(error);
  return bound.port();
}

void Server::Impl::run() {
  if (!acceptor->is_open()) return;
  auto work = asio::make_work_guard(*io_context);
  signals.emplace(*control, SIGINT, SIGTERM);
  wait_for_signal();
  asio::co_spawn(*control, accept_loop(), asio::detached);
  if (options.access_log) asio::co_spawn(*control, flush_access_log_loop(), asio::detached);
  std::vector<std::thread> workers;
  for (int i = 1; i < options.threads; ++i) {
    workers.emplace_back([this] {
      name_this_thread("http");
      io_context->run();
    });
  }
  io_context->run();
  for (std::thread& worker : workers) worker.join();
  std::fflush(stdout);
  if (on_shutdown) on_shutdown();
}

// The first SIGINT or SIGTERM stops gracefully, a second one at once.
void Server::Impl::wait_for_signal() {
  signals->async_wait([this](error_code error, int) {
    if (error) return;
    if (stopping.load()) {
      io_context->stop();
      return;
    }
    stop();
    wait_for_signal();
  });
}

void Server::Impl::stop() {
  if (stopping.exchange(true)) return;
  asio::post(*control, [this] { shut_down(); });
}

bool ServerCore::admit() {
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options.in_flight_max) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  metrics.in_flight.add(1);
  return true;
}

void ServerCore::release() {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  metrics.in_flight.add(-1);
}

void ServerCore::add_connection(Connection* connection) {
  std::lock_guard lock(connections_mutex_);
  connections_.insert(connection);
  metrics.connections.add(1);
}

void ServerCore::remove_connection(Connection* connection) {
  std::lock_guard lock(connections_mutex_);
  connections_.erase(connection);
  metrics.connections.add(-1);
}

void ServerCore::stop_connections() {
  std::lock_guard lock(connections_mutex_);
  for (Connection* connection : connections_) connection->post_stop();
}

std::size_t ServerCore::connection_count() {
  std::lock_guard lock(connections_mutex_);
  return connections_.size();
}

asio::awaitable<void> Server::Impl::accept_loop() {
  asio::steady_timer retry_timer(*control);
  while (!stopping.load()) {
    // One thread serialises by itself; with more, each connection gets a strand.
    asio::any_io_executor executor = options.threads > 1 ? asio::any_io_executor(asio::make_strand(*io_context))
                                                         : asio::any_io_executor(io_context->get_executor());
    auto [error, socket] = co_await acceptor->async_accept(executor, use_tuple);
    if (stopping.load() || !acceptor->is_open()) co_return;
    if (error) {
      retry_timer.expires_after(accept_retry_delay);
      co_await retry_timer.async_wait(use_tuple);
      continue;
    }
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    asio::co_spawn(connection->executor(), connection->run(connection), asio::detached);
  }
}

asio::awaitable<void> Server::Impl::flush_access_log_loop() {
  asio::steady_timer timer(*control);
  while (!stopping.load()) {
    timer.expires_after(access_log_flush_interval);
    co_await timer.async_wait(use_tuple);
    std::fflush(stdout);
  }
}

void Server::Impl::shut_down() {
  error_code ignored;
  acceptor->close(ignored);
  stop_connections();
  asio::co_spawn(*control, drain_connections(), asio::detached);
}

// Waits for the connections to finish, up to the grace period, then stops
// the loop; work still queued is dropped.
asio::awaitable<void> Server::Impl::drain_connections() {
  asio::steady_timer timer(*control);
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(options.shutdown_grace_ms);
  while (connection_count() > 0 && SteadyClock::now() < deadline) {
    timer.expires_after(shutdown_poll_interval);
    co_await timer.async_wait(use_tuple);
  }
  io_context->stop();
}

Server::Server(Options options, Handler& handler, metrics::Registry& registry, Clock& clock, IdGenerator& ids)
    : impl_(std::make_unique<Impl>(std::move(options), handler, registry, clock, ids)) {}

Server::~Server() = default;

Result<std::uint16_t> Server::start() { return impl_->start(); }

void Server::run() { impl_->run(); }

void Server::stop() { impl_->stop(); }

void Server::set_on_shutdown(std::function<void()> on_shutdown) { impl_->on_shutdown = std::move(on_shutdown); }

Scheduler& Server::scheduler() { return impl_->scheduler; }

DescriptorWatcher& Server::descriptor_watcher() { return impl_->descriptor_watcher; }

}  // namespace payd::http
