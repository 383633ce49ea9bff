// RedisCluster: a private Redis Cluster (Redis 7.0) for integration tests.
//
// Six redis-server processes on 127.0.0.1 at free ports (the cluster bus on
// another free port), each in its own folder of one fresh temporary
// directory: cluster-enabled, cluster-node-timeout 1000 ms so that a replica
// takes over from a dead primary within a few seconds, no persistence, and
// cluster-replica-validity-factor 0 so that a replica may always take over.
// `redis-cli --cluster create --cluster-replicas 1` makes three primaries
// with one replica each. The constructor returns once every node says
// cluster_state:ok and knows all six, and every replica's link to its
// primary is up. Every wait is bounded.
//
// The destructor kills every server (SIGKILL) and deletes the directory; the
// servers also die with the thread that started them (PR_SET_PDEATHSIG), so
// a failing test never leaves one behind.
//
// Not thread-safe: drive it from the test's main thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace payd::testing {

class RedisCluster {
 public:
  static constexpr int node_count = 6;

  // Throws std::runtime_error, with the servers' logs, when the cluster does
  // not come up within its bounded waits.
  RedisCluster();
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // redis-cluster://127.0.0.1:P (the first node, as the only seed).
  std::string url() const;
  // Every node's port, killed ones included.
  std::vector<int> ports() const;

  // Runs redis-cli against the node on `port` and returns its --raw output
  // (one line per reply element). Throws when redis-cli does not exit with 0
  // within 10 s.
  std::string cli(int port, const std::vector<std::string>& arguments) const;

  int slot_of(const std::string& key) const;  // CLUSTER KEYSLOT
  std::string node_id(int port) const;        // CLUSTER MYID
  // The port of the node serving `slot`, as the first live node sees it.
  int primary_of_slot(int slot) const;
  // The ports of the primaries that serve slots, as the first live node sees it.
  std::vector<int> primaries() const;

  // SIGKILL to the primary serving `slot` (or the slot of `key`); returns its port.
  int kill9_primary_of_slot(int slot);
  int kill9_primary_of(const std::string& key);

  // Waits until every live node says `slot` is served by a node other than
  // `old_primary` and cluster_state:ok. Returns the new primary's port;
  // throws after `timeout_ms`.
  int wait_for_failover(int slot, int old_primary, int timeout_ms);

 private:
  struct Server {
    int port = 0;
    pid_t pid = -1;  // -1 once killed
  };
  void start_server(Server& server);
  void create_cluster();
  bool healthy() const;
  int first_live_port() const;
  std::string logs() const;
  void stop_all();

  std::string directory_;
  std::vector<Server> servers_;
};

}  // namespace payd::testing
