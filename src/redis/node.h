// Node: the connections to one Redis server, on a given event loop.
//
// Internal to src/redis (includes Asio declarations): the single-node,
// Sentinel and Cluster clients are built from Nodes sharing one io_context.
// Not thread-safe: every member is called on the io_context's thread.
//
// Callbacks run on that thread, never from inside execute()/execute_all()
// (a command refused at once is completed from a posted handler). A
// callback may destroy the Node; callbacks run by the destructor must not
// use the Node being destroyed.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "redis/client.h"

namespace payd::redis {

// The payd_redis_* series of one client, shared by its nodes.
struct NodeMetrics {
  // payd_redis_commands_total{client, outcome}: by how each command ended.
  metrics::Counter& replies;         // a reply (not an error reply)
  metrics::Counter& error_replies;   // -ERR and the like
  metrics::Counter& timeouts;        // Failure::timeout
  metrics::Counter& connection_failures;
  metrics::Counter& overloaded;
  metrics::Counter& protocol_failures;
  // payd_redis_connects_total{client, outcome}: connection attempts.
  metrics::Counter& connects_succeeded;
  metrics::Counter& connects_failed;
  // payd_redis_reconnect_delay_seconds{client}: the backoff delays drawn.
  metrics::Histogram& reconnect_delay_s;
  // payd_redis_connected{client}: connections up (commands and subscribers).
  metrics::Gauge& connections_up;

  void count(const Response& response);
};

class Node {
 public:
  // Starts connecting at once (Options::connections connections), and keeps
  // reconnecting with backoff and jitter while the node is alive. An empty
  // address.host makes a node with nowhere to connect yet: its commands wait
  // until their deadline unless retarget() gives it an address.
  Node(boost::asio::io_context& io, Url::Host address, const Url& url, const Options& options,
       NodeMetrics& metrics, Random& random);
  ~Node();  // fails whatever is still in flight with Failure::connection
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Pipelines a command on one of the node's connections (the least loaded
  // connected one). Without a connection the command waits for one until
  // its deadline.
  void execute(Command command, Callback done);
  // Sends ASKING and `command` back to back on one connection (a Cluster
  // ASK redirect); `done` gets the command's reply.
  void execute_asking(Command command, Callback done);

  // Commands sent back to back on one connection, in one write, each
  // completed on its own. An empty `done` drops that command's reply. If the
  // least loaded connection cannot take them all, they all fail with
  // Failure::overloaded.
  struct Request {
    Command command;
    Callback done;
  };
  void execute_all(std::vector<Request> requests);

  // Connects to `address` from now on: open connections are closed (their
  // commands fail with Failure::connection) and new ones opened at once.
  // Nothing happens when the address is the current one.
  void retarget(Url::Host address);

  bool connected() const;
  const Url::Host& address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A SUBSCRIBE to one channel on a connection of its own to one server,
// re-sent after every reconnect. `on_resubscribed` runs each time the server
// confirms the subscription, the first time included: messages published
// while it was not subscribed are lost. Same thread rules as Node;
// destroying it closes the connection.
class Subscriber {
 public:
  Subscriber(boost::asio::io_context& io, Url::Host address, const Url& url, const Options& options,
             NodeMetrics& metrics, Random& random, std::string channel,
             std::function<void(std::string message)> on_message, std::function<void()> on_resubscribed);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // As Node::retarget.
  void retarget(Url::Host address);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::unique_ptr<NodeMetrics> make_node_metrics(metrics::Registry& registry, const std::string& client);

}  // namespace payd::redis
