// Node and Subscriber: connections to one Redis server (see node.h).
//
// Pieces, in the order of this file:
//   Settings    what a node's connections share: where, who, TLS context.
//   Connection  one socket, used once: connect (resolve, TCP, TLS), the
//               handshake (AUTH, SELECT), then pipelined commands with a
//               FIFO of callbacks, or in push mode for a subscriber. One
//               coroutine reads; writes coalesce what was queued while the
//               previous write was in flight.
//   Slot        one connection's life: opens a Connection, and when it
//               closes opens the next after a backoff with full jitter.
//   Node::Impl  the slots, the commands waiting for a connection, and the
//               deadline sweep.
//   Subscriber  a slot whose connection is in push mode.
//
// Deadlines: a command's deadline is fixed when it is handed to the node.
// Every node's deadlines are the same length, so each connection's FIFO is
// in deadline order and the commands that timed out are a prefix of it
// (`expired_`): their late replies are read and dropped. A periodic sweep,
// running only while commands are pending, completes them with
// Failure::timeout; a connection whose oldest command is overdue by several
// deadlines is closed, which fails its other commands, and reopened.
//
// Lifetimes: everything runs on the io_context's thread. Connections are
// shared_ptrs held by their slot and by their pending handlers; a closed
// connection's handlers return at once. Slots are held by their node and
// referenced weakly by timers. User callbacks can destroy the node, so
// functions call them last, from a local list, touching no member after.
#include "redis/node.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cassert>
#include <deque>
#include <utility>

#include "resilience/backoff.h"

namespace payd::redis {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Bytes asked of the socket per read.
constexpr std::size_t read_chunk_bytes = 16 * 1024;
// A connection whose oldest command has had no reply for this many
// deadlines past its own is closed and reopened.
constexpr int overdue_deadlines_max = 4;
// The sweep runs this many times per deadline while commands are pending.
constexpr int sweeps_per_deadline = 10;
// Commands waiting for a connection, per connection of the node, as a
// multiple of in_flight_max.
constexpr int waiting_per_connection_max = 1;

static_assert(overdue_deadlines_max >= 1 && sweeps_per_deadline >= 1);

using Completions = std::vector<std::pair<Callback, Response>>;

Response failed(Failure::Kind kind, std::string message) {
  return Response{std::nullopt, Failure{kind, std::move(message)}};
}

std::string describe(const Url::Host& address) { return address.host + ":" + std::to_string(address.port); }

// What a node's (or a subscriber's) connections share. Connections hold it
// by shared_ptr, so it outlives them; `metrics` and `random` are used only
// while the node is alive.
struct Settings {
  Settings(asio::io_context& io, Url::Host address, const Url& url, const Options& options, NodeMetrics& metrics,
           Random& random)
      : io(io), address(std::move(address)), user(url.user), password(url.password), db(url.db), tls(url.tls),
        options(options), metrics(metrics), random(random) {
    if (!tls) return;
    error_code error;
    tls_context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                                ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                            error);
    if (!options.tls_verify) return;
    if (options.tls_ca_file.empty()) {
      tls_context.set_default_verify_paths(error);
    } else {
      tls_context.load_verify_file(options.tls_ca_file, error);
    }
    if (error) tls_error = "cannot load the TLS trust store: " + error.message();
  }

  asio::io_context& io;
  Url::Host address;
  std::string user;
  std::string password;
  int db = 0;
  bool tls = false;
  Options options;
  NodeMetrics& metrics;
  Random& random;
  ssl::context tls_context{ssl::context::tls_client};
  std::string tls_error;  // empty when the TLS context is usable
};

void complete_all(Completions& completions, NodeMetrics& metrics) {
  for (auto& [done, response] : completions) {
    metrics.count(response);
    done(std::move(response));
  }
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  class Owner {
   public:
    virtual void on_ready(Connection& connection) = 0;
    virtual void on_closed(Connection& connection, bool was_ready) = 0;

   protected:
    ~Owner() = default;
  };
  // Receives every reply once the connection is ready (subscribers).
  using PushHandler = std::function<void(Reply)>;

  Connection(std::shared_ptr<Settings> settings, Owner& owner, PushHandler push_handler)
      : settings_(std::move(settings)), address_(settings_->address), owner_(&owner),
        push_handler_(std::move(push_handler)), stream_(settings_->io, settings_->tls_context),
        resolver_(settings_->io), connect_timer_(settings_->io), read_buffer_(read_chunk_bytes) {}
  ~Connection() { assert(pending_.empty()); }

  void start() { asio::co_spawn(settings_->io, run(shared_from_this()), asio::detached); }

  // Stops for good: the socket is closed, the owner told (unless detached),
  // and the commands still waiting for a reply fail with `failure`.
  // Idempotent.
  void close(Failure failure);
  // The owner no longer wants to hear from this connection.
  void detach() { owner_ = nullptr; }

  bool ready() const { return ready_ && !closed_; }
  std::size_t in_flight() const { return pending_.size(); }

  // Queues the requests, back to back, for the next write. Requires ready().
  void send(std::vector<Node::Request>& requests, TimePoint deadline);
  // Queues a command whose reply goes to the push handler.
  void send_push(const Command& command) { queue_write(command); }

  // Moves the callbacks of the commands past their deadline into
  // `completions`; true when the oldest command is so overdue that the
  // connection should be closed.
  bool expire(TimePoint now, Completions& completions);

 private:
  struct Pending {
    Callback done;  // empty: drop the reply
    TimePoint deadline;
  };

  asio::awaitable<void> run(std::shared_ptr<Connection> self);
  asio::awaitable<bool> connect();
  void start_handshake();
  void become_ready();
  void deliver(Reply reply);
  void queue_write(const Command& command);
  void start_write();
  void on_written(error_code error);
  tcp::socket& socket() { return stream_.next_layer(); }

  std::shared_ptr<Settings> settings_;
  Url::Host address_;  // the settings' address when this connection was made
  Owner* owner_;
  PushHandler push_handler_;
  ssl::stream<tcp::socket> stream_;
  tcp::resolver resolver_;
  asio::steady_timer connect_timer_;
  std::vector<char> read_buffer_;
  Parser parser_;
  std::deque<Pending> pending_;
  std::size_t expired_ = 0;  // pending_[0, expired_) timed out
  std::string write_buffer_;    // queued while a write is in flight
  std::string writing_buffer_;  // being written
  bool writing_ = false;
  bool ready_ = false;
  bool closed_ = false;
};

void Connection::close(Failure failure) {
  if (closed_) return;
  auto self = shared_from_this();
  closed_ = true;
  bool was_ready = std::exchange(ready_, false);
  connect_timer_.cancel();
  resolver_.cancel();
  error_code ignored;
  socket().close(ignored);
  Completions completions;
  for (std::size_t i = expired_; i < pending_.size(); ++i) {
    if (pending_[i].done) completions.emplace_back(std::move(pending_[i].done), Response{std::nullopt, failure});
  }
  pending_.clear();
  expired_ = 0;
  if (Owner* owner = std::exchange(owner_, nullptr)) owner->on_closed(*this, was_ready);
  complete_all(completions, settings_->metrics);
}

void Connection::send(std::vector<Node::Request>& requests, TimePoint deadline) {
  assert(ready());
  for (Node::Request& request : requests) {
    queue_write(request.command);
    pending_.push_back(Pending{std::move(request.done), deadline});
  }
}

bool Connection::expire(TimePoint now, Completions& completions) {
  while (expired_ < pending_.size() && pending_[expired_].deadline <= now) {
    Pending& entry = pending_[expired_++];
    if (entry.done) {
      completions.emplace_back(std::move(entry.done),
                               failed(Failure::Kind::timeout, "no reply from " + describe(address_) + " within " +
                                                                  std::to_string(settings_->options.deadline_ms) +
                                                                  " ms"));
    }
  }
  auto overdue = std::chrono::milliseconds(settings_->options.deadline_ms) * overdue_deadlines_max;
  return !pending_.empty() && pending_.front().deadline + overdue <= now;
}

// `self` keeps the connection alive for as long as the coroutine runs.
asio::awaitable<void> Connection::run([[maybe_unused]] std::shared_ptr<Connection> self) {
  if (!co_await connect()) co_return;
  start_handshake();
  while (!closed_) {
    // Two statements: GCC 12 miscompiles co_await on a conditional expression.
    error_code error;
    std::size_t bytes = 0;
    if (settings_->tls) {
      std::tie(error, bytes) = co_await stream_.async_read_some(asio::buffer(read_buffer_), use_tuple);
    } else {
      std::tie(error, bytes) = co_await socket().async_read_some(asio::buffer(read_buffer_), use_tuple);
    }
    if (closed_) co_return;
    if (error) {
      close(Failure{Failure::Kind::connection, "lost " + describe(address_) + ": " + error.message()});
      co_return;
    }
    parser_.feed(std::string_view(read_buffer_.data(), bytes));
    Reply reply;
    Parser::Status status = Parser::Status::need_more;
    while (!closed_ && (status = parser_.next(reply)) == Parser::Status::reply) deliver(std::move(reply));
    if (!closed_ && status == Parser::Status::error) {
      close(Failure{Failure::Kind::protocol, describe(address_) + ": " + parser_.error_message()});
    }
  }
}

// Resolves, connects and (for TLS) handshakes within connect_timeout_ms.
// false when the connection was closed instead.
asio::awaitable<bool> Connection::connect() {
  std::weak_ptr<Connection> weak = weak_from_this();
  connect_timer_.expires_after(std::chrono::milliseconds(settings_->options.connect_timeout_ms));
  connect_timer_.async_wait([weak](error_code error) {
    auto self = weak.lock();
    if (error || !self || self->ready_) return;
    self->close(Failure{Failure::Kind::connection, "connecting to " + describe(self->address_) + " timed out"});
  });
  if (!settings_->tls_error.empty()) {
    close(Failure{Failure::Kind::connection, settings_->tls_error});
    co_return false;
  }
  error_code error;
  asio::ip::address literal = asio::ip::make_address(address_.host, error);
  bool is_literal = !error;
  if (is_literal) {
    std::tie(error) = co_await socket().async_connect(tcp::endpoint(literal, address_.port), use_tuple);
  } else {
    tcp::resolver::results_type endpoints;
    std::tie(error, endpoints) =
        co_await resolver_.async_resolve(address_.host, std::to_string(address_.port), use_tuple);
    if (!closed_ && !error) std::tie(error, std::ignore) = co_await asio::async_connect(socket(), endpoints, use_tuple);
  }
  if (!closed_ && !error && settings_->tls) {
    // SNI takes host names, not addresses.
    if (!is_literal) SSL_set_tlsext_host_name(stream_.native_handle(), address_.host.c_str());
    if (settings_->options.tls_verify) {
      stream_.set_verify_mode(ssl::verify_peer, error);
      stream_.set_verify_callback(ssl::host_name_verification(address_.host), error);
    }
    if (!error) std::tie(error) = co_await stream_.async_handshake(ssl::stream_base::client, use_tuple);
  }
  if (closed_) co_return false;
  if (error) {
    close(Failure{Failure::Kind::connection, "cannot connect to " + describe(address_) + ": " + error.message()});
    co_return false;
  }
  socket().set_option(tcp::no_delay(true), error);
  co_return true;
}

// AUTH and SELECT, pipelined; ready when the last one is answered.
void Connection::start_handshake() {
  std::vector<Command> commands;
  if (!settings_->password.empty()) {
    commands.push_back(settings_->user.empty() ? Command{"AUTH", settings_->password}
                                               : Command{"AUTH", settings_->user, settings_->password});
  }
  if (settings_->db != 0) commands.push_back({"SELECT", std::to_string(settings_->db)});
  if (commands.empty()) {
    become_ready();
    return;
  }
  for (std::size_t i = 0; i < commands.size(); ++i) {
    bool last = i + 1 == commands.size();
    std::string name = commands[i][0];
    queue_write(commands[i]);
    // Called with the connection alive: from deliver() or close().
    pending_.push_back(Pending{[this, last, name](Response response) {
                                 if (closed_) return;
                                 if (!response.ok() || response.reply->is_error()) {
                                   std::string why = response.ok() ? response.reply->text : response.failure.message;
                                   close(Failure{Failure::Kind::connection,
                                                 describe(address_) + " refused " + name + ": " + why});
                                 } else if (last) {
                                   become_ready();
                                 }
                               },
                               TimePoint::max()});
  }
}

void Connection::become_ready() {
  assert(!ready_ && !closed_);
  connect_timer_.cancel();
  ready_ = true;
  if (owner_ != nullptr) owner_->on_ready(*this);
}

void Connection::deliver(Reply reply) {
  if (ready_ && push_handler_) {
    push_handler_(std::move(reply));
    return;
  }
  if (pending_.empty()) {
    close(Failure{Failure::Kind::protocol, describe(address_) + " sent a reply nobody asked for"});
    return;
  }
  Pending entry = std::move(pending_.front());
  pending_.pop_front();
  if (expired_ > 0) {
    --expired_;
    return;
  }
  if (!entry.done) return;
  Response response{std::move(reply), {}};
  settings_->metrics.count(response);
  entry.done(std::move(response));
}

void Connection::queue_write(const Command& command) {
  encode(command, write_buffer_);
  if (!writing_) start_write();
}

void Connection::start_write() {
  assert(!writing_ && !write_buffer_.empty());
  writing_ = true;
  std::swap(write_buffer_, writing_buffer_);
  auto handler = [self = shared_from_this()](error_code error, std::size_t) { self->on_written(error); };
  if (settings_->tls) {
    asio::async_write(stream_, asio::buffer(writing_buffer_), handler);
  } else {
    asio::async_write(socket(), asio::buffer(writing_buffer_), handler);
  }
}

void Connection::on_written(error_code error) {
  writing_ = false;
  writing_buffer_.clear();
  if (closed_) return;
  if (error) {
    close(Failure{Failure::Kind::connection, "lost " + describe(address_) + ": " + error.message()});
    return;
  }
  if (!write_buffer_.empty()) start_write();
}

// One connection's life: connect, serve, and after each loss reconnect with
// backoff and full jitter.
class Slot final : public Connection::Owner, public std::enable_shared_from_this<Slot> {
 public:
  Slot(std::shared_ptr<Settings> settings, std::function<void(Connection&)> on_ready,
       Connection::PushHandler push_handler)
      : settings_(std::move(settings)), on_ready_(std::move(on_ready)), push_handler_(std::move(push_handler)),
        backoff_timer_(settings_->io) {}
  ~Slot() {
    backoff_timer_.cancel();
    if (auto connection = forget()) connection->close(Failure{Failure::Kind::connection, "the Redis client was closed"});
  }

  // Connects now, to the settings' current address unless it is empty.
  // Returns the previous connection, detached, for the caller to close once
  // it is done with its own state (closing calls back).
  std::shared_ptr<Connection> restart() {
    backoff_timer_.cancel();
    auto previous = forget();
    attempt_ = 0;
    if (!settings_->address.host.empty()) connect();
    return previous;
  }

  Connection* ready_connection() const { return connection_ && connection_->ready() ? connection_.get() : nullptr; }

 private:
  std::shared_ptr<Connection> forget() {
    if (!connection_) return nullptr;
    auto connection = std::move(connection_);
    connection->detach();
    if (connection->ready()) settings_->metrics.connections_up.add(-1);
    return connection;
  }

  void connect() {
    assert(!connection_);
    connection_ = std::make_shared<Connection>(settings_, *this, push_handler_);
    connection_->start();
  }

  void on_ready(Connection& connection) override {
    assert(&connection == connection_.get());
    attempt_ = 0;
    settings_->metrics.connects_succeeded.add();
    settings_->metrics.connections_up.add(1);
    on_ready_(connection);
  }

  void on_closed([[maybe_unused]] Connection& connection, bool was_ready) override {
    assert(&connection == connection_.get());
    if (was_ready) {
      settings_->metrics.connections_up.add(-1);
    } else {
      settings_->metrics.connects_failed.add();
    }
    connection_.reset();
    auto delay = resilience::reconnect_delay(attempt_, settings_->options.backoff_base_ms,
                                             settings_->options.backoff_max_ms, settings_->random);
    ++attempt_;
    settings_->metrics.reconnect_delay_s.observe(std::chrono::duration<double>(delay).count());
    backoff_timer_.expires_after(delay);
    backoff_timer_.async_wait([weak = weak_from_this()](error_code error) {
      auto slot = weak.lock();
      if (error || !slot || slot->connection_) return;
      slot->connect();
    });
  }

  std::shared_ptr<Settings> settings_;
  std::function<void(Connection&)> on_ready_;
  Connection::PushHandler push_handler_;
  asio::steady_timer backoff_timer_;
  std::shared_ptr<Connection> connection_;
  int attempt_ = 0;
};

}  // namespace

void NodeMetrics::count(const Response& response) {
  if (response.ok()) {
    (response.reply->is_error() ? error_replies : replies).add();
    return;
  }
  switch (response.failure.kind) {
    case Failure::Kind::timeout: timeouts.add(); return;
    case Failure::Kind::connection: connection_failures.add(); return;
    case Failure::Kind::overloaded: overloaded.add(); return;
    case Failure::Kind::protocol:
    case Failure::Kind::redirect: protocol_failures.add(); return;
  }
}

std::unique_ptr<NodeMetrics> make_node_metrics(metrics::Registry& registry, const std::string& client) {
  const std::string commands = "payd_redis_commands_total";
  const std::string commands_help = "Redis commands by outcome";
  const std::string connects = "payd_redis_connects_total";
  const std::string connects_help = "Redis connection attempts by outcome";
  auto labels = [&](const char* outcome) { return metrics::Labels{{"client", client}, {"outcome", outcome}}; };
  static const std::vector<double> delay_buckets_s = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,     2.5,  5,     10,   30};
  return std::unique_ptr<NodeMetrics>(new NodeMetrics{
      registry.counter(commands, commands_help, labels("reply")),
      registry.counter(commands, commands_help, labels("error_reply")),
      registry.counter(commands, commands_help, labels("timeout")),
      registry.counter(commands, commands_help, labels("connection")),
      registry.counter(commands, commands_help, labels("overloaded")),
      registry.counter(commands, commands_help, labels("protocol")),
      registry.counter(connects, connects_help, labels("ok")),
      registry.counter(connects, connects_help, labels("failed")),
      registry.histogram("payd_redis_reconnect_delay_seconds", "Backoff delays before reconnecting to Redis",
                         delay_buckets_s, {{"client", client}}),
      registry.gauge("payd_redis_connected", "Connections to Redis that are up", {{"client", client}}),
  });
}

struct Node::Impl {
  Impl(asio::io_context& io, Url::Host address, const Url& url, const Options& options, NodeMetrics& metrics,
       Random& random)
      : settings(std::make_shared<Settings>(io, std::move(address), url, options, metrics, random)),
        sweep_timer(io) {
    assert(options.connections >= 1 && options.in_flight_max >= 1 && options.deadline_ms >= 1);
    for (int i = 0; i < options.connections; ++i) {
      slots.push_back(std::make_shared<Slot>(settings, [this](Connection&) { flush_waiting(); }, nullptr));
    }
    for (auto& slot : slots) slot->restart();
  }

  ~Impl() {
    sweep_timer.cancel();
    Completions completions;
    for (Batch& batch : waiting) {
      for (Request& request : batch.requests) {
        if (request.done) {
          completions.emplace_back(std::move(request.done),
                                   failed(Failure::Kind::connection, "the Redis client was closed"));
        }
      }
    }
    slots.clear();
    complete_all(completions, settings->metrics);
  }

  struct Batch {
    std::vector<Request> requests;
    TimePoint deadline;
  };

  // The least loaded ready connection with room for `count` more commands.
  Connection* pick(std::size_t count) const {
    Connection* best = nullptr;
    for (const auto& slot : slots) {
      Connection* connection = slot->ready_connection();
      if (connection != nullptr && (best == nullptr || connection->in_flight() < best->in_flight())) best = connection;
    }
    if (best == nullptr || best->in_flight() + count > static_cast<std::size_t>(settings->options.in_flight_max)) {
      return nullptr;
    }
    return best;
  }

  bool any_ready() const {
    return std::any_of(slots.begin(), slots.end(), [](const auto& slot) { return slot->ready_connection(); });
  }

  void execute_all(std::vector<Request> requests) {
    assert(!requests.empty());
    if (requests.size() > static_cast<std::size_t>(settings->options.in_flight_max)) {
      refuse(std::move(requests));
      return;
    }
    TimePoint deadline = SteadyClock::now() + std::chrono::milliseconds(settings->options.deadline_ms);
    if (waiting.empty()) {
      if (Connection* connection = pick(requests.size())) {
        connection->send(requests, deadline);
        arm_sweep();
        return;
      }
    }
    std::size_t waiting_max = static_cast<std::size_t>(settings->options.in_flight_max) *
                              static_cast<std::size_t>(settings->options.connections) * waiting_per_connection_max;
    if (any_ready() || waiting_requests + requests.size() > waiting_max) {
      refuse(std::move(requests));
      return;
    }
    waiting_requests += requests.size();
    waiting.push_back(Batch{std::move(requests), deadline});
    arm_sweep();
  }

  // Fails the requests with Failure::overloaded, from a posted handler.
  void refuse(std::vector<Request> requests) {
    std::string message = "more than " + std::to_string(settings->options.in_flight_max) +
                          " commands in flight on each connection to " + describe(settings->address);
    asio::post(settings->io, [requests = std::move(requests), message, metrics = &settings->metrics]() mutable {
      for (Request& request : requests) {
        if (!request.done) continue;
        Response response = failed(Failure::Kind::overloaded, message);
        metrics->count(response);
        request.done(std::move(response));
      }
    });
  }

  void flush_waiting() {
    while (!waiting.empty()) {
      Connection* connection = pick(waiting.front().requests.size());
      if (connection == nullptr) return;
      waiting_requests -= waiting.front().requests.size();
      connection->send(waiting.front().requests, waiting.front().deadline);
      waiting.pop_front();
    }
  }

  void arm_sweep() {
    if (sweep_armed) return;
    sweep_armed = true;
    auto interval = std::max(std::chrono::milliseconds(1),
                             std::chrono::milliseconds(settings->options.deadline_ms) / sweeps_per_deadline);
    sweep_timer.expires_after(interval);
    sweep_timer.async_wait([this, alive = std::weak_ptr<bool>(alive_token)](error_code error) {
      if (error || alive.expired()) return;
      sweep();
    });
  }

  // Times out what is past its deadline and closes the connections that are
  // long overdue. Calls back last: a callback may destroy the node.
  void sweep() {
    sweep_armed = false;
    TimePoint now = SteadyClock::now();
    Completions completions;
    std::vector<std::shared_ptr<Connection>> overdue;
    bool pending = false;
    for (const auto& slot : slots) {
      Connection* connection = slot->ready_connection();
      if (connection == nullptr) continue;
      if (connection->expire(now, completions)) overdue.push_back(connection->shared_from_this());
      pending = pending || connection->in_flight() > 0;
    }
    while (!waiting.empty() && waiting.front().deadline <= now) {
      waiting_requests -= waiting.front().requests.size();
      for (Request& request : waiting.front().requests) {
        if (!request.done) continue;
        completions.emplace_back(std::move(request.done),
                                 failed(Failure::Kind::connection,
                                        "no connection to " + describe(settings->address) + " within " +
                                            std::to_string(settings->options.deadline_ms) + " ms"));
      }
      waiting.pop_front();
    }
    if (pending || !waiting.empty()) arm_sweep();
    NodeMetrics& metrics = settings->metrics;
    std::string overdue_message = "no reply from " + describe(settings->address) + " for " +
                                  std::to_string(settings->options.deadline_ms * (overdue_deadlines_max + 1)) +
                                  " ms; reconnecting";
    for (auto& connection : overdue) connection->close(Failure{Failure::Kind::connection, overdue_message});
    complete_all(completions, metrics);
  }

  void retarget(Url::Host address) {
    if (address.host == settings->address.host && address.port == settings->address.port) return;
    Failure failure{Failure::Kind::connection, "the Redis node moved from " + describe(settings->address)};
    settings->address = std::move(address);
    std::vector<std::shared_ptr<Connection>> previous;
    for (auto& slot : slots) {
      if (auto connection = slot->restart()) previous.push_back(std::move(connection));
    }
    for (auto& connection : previous) connection->close(failure);
  }

  std::shared_ptr<Settings> settings;
  std::vector<std::shared_ptr<Slot>> slots;
  std::deque<Batch> waiting;  // for a connection, oldest first
  std::size_t waiting_requests = 0;
  asio::steady_timer sweep_timer;
  bool sweep_armed = false;
  std::shared_ptr<bool> alive_token = std::make_shared<bool>(true);  // expires with the node, for handlers
};

Node::Node(asio::io_context& io, Url::Host address, const Url& url, const Options& options, NodeMetrics& metrics,
           Random& random)
    : impl_(std::make_unique<Impl>(io, std::move(address), url, options, metrics, random)) {}

Node::~Node() = default;

void Node::execute(Command command, Callback done) {
  std::vector<Request> requests;
  requests.push_back(Request{std::move(command), std::move(done)});
  impl_->execute_all(std::move(requests));
}

void Node::execute_asking(Command command, Callback done) {
  std::vector<Request> requests;
  requests.push_back(Request{{"ASKING"}, nullptr});
  requests.push_back(Request{std::move(command), std::move(done)});
  impl_->execute_all(std::move(requests));
}

void Node::execute_all(std::vector<Request> requests) { impl_->execute_all(std::move(requests)); }

void Node::retarget(Url::Host address) { impl_->retarget(std::move(address)); }

bool Node::connected() const { return impl_->any_ready(); }

const Url::Host& Node::address() const { return impl_->settings->address; }

struct Subscriber::Impl {
  Impl(asio::io_context& io, Url::Host address, const Url& url, const Options& options, NodeMetrics& metrics,
       Random& random, std::string channel, std::function<void(std::string)> on_message,
       std::function<void()> on_resubscribed)
      : settings(std::make_shared<Settings>(io, std::move(address), url, options, metrics, random)),
        channel(std::move(channel)), on_message(std::move(on_message)), on_resubscribed(std::move(on_resubscribed)) {
    slot = std::make_shared<Slot>(
        settings, [this](Connection& connection) { connection.send_push({"SUBSCRIBE", this->channel}); },
        [this](Reply reply) { receive(std::move(reply)); });
    slot->restart();
  }

  // ["subscribe", channel, count] confirms; ["message", channel, payload]
  // delivers. Anything else (a PONG, an error) is ignored.
  void receive(Reply reply) {
    if (reply.type != Reply::Type::array || reply.elements.size() != 3) return;
    const std::string& kind = reply.elements[0].text;
    if (reply.elements[1].text != channel) return;
    if (kind == "subscribe") {
      on_resubscribed();
    } else if (kind == "message") {
      on_message(std::move(reply.elements[2].text));
    }
  }

  std::shared_ptr<Settings> settings;
  std::string channel;
  std::function<void(std::string)> on_message;
  std::function<void()> on_resubscribed;
  std::shared_ptr<Slot> slot;
};

Subscriber::Subscriber(asio::io_context& io, Url::Host address, const Url& url, const Options& options,
                       NodeMetrics& metrics, Random& random, std::string channel,
                       std::function<void(std::string message)> on_message, std::function<void()> on_resubscribed)
    : impl_(std::make_unique<Impl>(io, std::move(address), url, options, metrics, random, std::move(channel),
                                   std::move(on_message), std::move(on_resubscribed))) {}

Subscriber::~Subscriber() = default;

void Subscriber::retarget(Url::Host address) {
  Settings& settings = *impl_->settings;
  if (address.host == settings.address.host && address.port == settings.address.port) return;
  settings.address = std::move(address);
  if (auto previous = impl_->slot->restart()) previous->close(Failure{Failure::Kind::connection, "moved"});
}

}  // namespace payd::redis
