// Node: the connections to one Redis server, on a given event loop.
//
// Internal to src/redis (includes Asio declarations): the single-node,
// Sentinel and Cluster clients are built from Nodes sharing one io_context.
// Not thread-safe: every member is called on the io_context's thread.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "redis/client.h"

namespace payd::redis {

struct NodeMetrics;  // defined in node.cc; shared by the nodes of a client

class Node {
 public:
  // Starts connecting at once (Options::connections connections), and keeps
  // reconnecting with backoff and jitter while the node is alive.
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

  bool connected() const;
  const Url::Host& address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::unique_ptr<NodeMetrics> make_node_metrics(metrics::Registry& registry, const std::string& client);

}  // namespace payd::redis
