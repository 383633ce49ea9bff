// The Redis client: RESP over TCP or TLS, for the payment cache.
//
// One interface for a single node, a Sentinel-managed primary and a Redis
// Cluster (make_client picks by URL). Everything runs on the client's own
// Asio event loop thread; callers either pass a callback (called on that
// thread) or use the blocking helpers, which never wait longer than the
// command deadline.
//
// Guarantees every implementation keeps:
//   - Commands are pipelined over a small pool of connections, with a
//     bounded number in flight; beyond it a command fails at once with
//     Failure::overloaded.
//   - Every command has a deadline (Options::deadline_ms, default 50 ms). A
//     command not answered in time completes with Failure::timeout; its late
//     reply is read and dropped.
//   - Connections authenticate (AUTH [user] password), select the database
//     and, for rediss://, speak TLS. A lost connection fails its commands
//     with Failure::connection and is re-opened with exponential backoff and
//     full jitter, so many nodes do not reconnect in step.
//   - A command is completed exactly once: callback or blocking result.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "metrics/metrics.h"
#include "redis/resp.h"

namespace payd::redis {

// Where the cache is, parsed from PAYMENT_CACHE_URL:
//   redis://[[user]:password@]host[:port][/db]
//   rediss://...                                   (TLS)
//   redis-cluster://[[user]:password@]host:port[,host:port...]
//   redis-sentinel://[[user]:password@]host:port[,host:port...]/master-name
struct Url {
  enum class Mode { single, cluster, sentinel };
  Mode mode = Mode::single;
  bool tls = false;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
  struct Host {
    std::string host;
    std::uint16_t port = 6379;
  };
  std::vector<Host> hosts;  // one for single; seeds for cluster; sentinels
  int db = 0;
  std::string master_name;  // sentinel only
};

// A clear error message (invalid_request problem naming the URL's fault) for
// a malformed URL. Never echoes the password.
Result<Url> parse_url(std::string_view text);

struct Options {
  int connections = 2;             // pool size per node
  int in_flight_max = 1024;        // commands in flight per connection
  int deadline_ms = 50;            // per command
  int connect_timeout_ms = 200;
  int backoff_base_ms = 100;       // reconnect: base * 2^attempt, capped, full jitter
  int backoff_max_ms = 5000;
  std::string tls_ca_file;         // rediss://: CA to verify the server with; empty: system store
  bool tls_verify = true;
};

// Why a command has no reply. A Redis error reply (-ERR ...) is not a
// Failure: it is a Reply of type error.
struct Failure {
  enum class Kind { timeout, connection, overloaded, protocol, redirect };
  Kind kind = Kind::connection;
  std::string message;
};

// A command's outcome: a reply, or the failure that prevented one.
struct Response {
  std::optional<Reply> reply;
  Failure failure;  // meaningful when !reply
  bool ok() const { return reply.has_value(); }
};

using Command = std::vector<std::string>;
using Callback = std::function<void(Response)>;

// A SUBSCRIBE on its own connection, re-subscribed after every reconnect.
// Destroying it unsubscribes and closes that connection.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

class Client {
 public:
  virtual ~Client() = default;

  // Sends one command; `done` is called exactly once on the client's thread.
  virtual void execute(Command command, Callback done) = 0;

  // Sends the commands back to back (one write where they share a
  // connection) and completes each on its own. In a cluster, each command is
  // routed by its own key; commands that must run together belong in one
  // EVAL with hash-tagged keys.
  virtual void execute_all(std::vector<Command> commands, std::function<void(std::vector<Response>)> done) = 0;

  // Blocking forms of the two above: return within the deadline (plus a
  // little scheduling slack). Must not be called on the client's thread.
  Response call(Command command);
  std::vector<Response> call_all(std::vector<Command> commands);

  // Messages published on `channel`, delivered on the client's thread.
  // `on_resubscribed` runs each time the server confirms the subscription:
  // once it is first in place, then after each reconnect (the messages sent
  // while it was down are lost: drop what they would have invalidated).
  virtual std::unique_ptr<Subscription> subscribe(std::string channel,
                                                  std::function<void(std::string message)> on_message,
                                                  std::function<void()> on_resubscribed) = 0;

  // True while at least one connection to the (primary) node is up.
  virtual bool connected() const = 0;

  virtual const Options& options() const = 0;
};

// Starts the client's event loop thread and begins connecting in the
// background; returns at once (commands sent before a connection is up wait
// for it, within their deadline). Registers payd_redis_* metrics.
std::unique_ptr<Client> make_client(const Url& url, Options options, metrics::Registry& registry, Random& random);

}  // namespace payd::redis
