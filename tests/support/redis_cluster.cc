#include "tests/support/redis_cluster.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "tests/support/free_port.h"
#include "tests/support/payd_process.h"

namespace payd::testing {
namespace {

const std::string server_binary = "/usr/bin/redis-server";
const std::string cli_binary = "/usr/bin/redis-cli";

constexpr int cli_timeout_ms = 10'000;
constexpr int server_start_ms_max = 10'000;
constexpr int cluster_ready_ms_max = 30'000;
constexpr int poll_interval_ms = 50;

// Polls `condition` until it holds or `timeout_ms` passes; whether it held.
bool wait_until(int timeout_ms, const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_interval_ms));
  }
}

// One line of CLUSTER NODES: "id host:port@bus[,hostname] flags primary
// ping pong epoch link slot...", slots as "first-last" or "slot"
// ("[slot->-id]" marks a migration, which is not counted).
struct NodeLine {
  int port = 0;
  bool primary = false;
  std::vector<std::pair<int, int>> slot_ranges;
};

std::vector<NodeLine> parse_nodes(const std::string& nodes) {
  std::vector<NodeLine> parsed;
  std::istringstream lines(nodes);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, address, flags, primary, ping, pong, epoch, link, range;
    if (!(fields >> id >> address >> flags >> primary >> ping >> pong >> epoch >> link)) continue;
    NodeLine node;
    node.port = std::atoi(address.substr(address.find(':') + 1).c_str());  // atoi stops at '@'
    node.primary = flags.find("master") != std::string::npos;
    while (fields >> range) {
      if (range.front() == '[') continue;
      std::size_t dash = range.find('-');
      int first = std::atoi(range.substr(0, dash).c_str());
      int last = dash == std::string::npos ? first : std::atoi(range.substr(dash + 1).c_str());
      node.slot_ranges.emplace_back(first, last);
    }
    parsed.push_back(std::move(node));
  }
  return parsed;
}

// The port of the primary serving `slot` in CLUSTER NODES text; 0 when none.
int serving_port(const std::string& nodes, int slot) {
  for (const NodeLine& node : parse_nodes(nodes)) {
    if (!node.primary) continue;
    for (auto [first, last] : node.slot_ranges) {
      if (slot >= first && slot <= last) return node.port;
    }
  }
  return 0;
}

}  // namespace

RedisCluster::RedisCluster() {
  std::string pattern = (std::filesystem::temp_directory_path() / "payd-redis-cluster-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  try {
    servers_.resize(node_count);
    for (Server& server : servers_) start_server(server);
    create_cluster();
  } catch (...) {
    stop_all();
    throw;
  }
}

RedisCluster::~RedisCluster() { stop_all(); }

void RedisCluster::stop_all() {
  for (Server& server : servers_) {
    if (server.pid > 0) kill9_child(server.pid);
    server.pid = -1;
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void RedisCluster::start_server(Server& server) {
  server.port = free_loopback_port();
  std::string folder = directory_ + "/" + std::to_string(server.port);
  std::filesystem::create_directory(folder);
  std::ofstream config(folder + "/redis.conf");
  config << "port " << server.port << "\n"
         << "bind 127.0.0.1\n"
         << "dir " << folder << "\n"
         << "daemonize no\n"
         << "cluster-enabled yes\n"
         << "cluster-port " << free_loopback_port() << "\n"
         << "cluster-config-file nodes.conf\n"
         << "cluster-node-timeout 1000\n"
         << "cluster-replica-validity-factor 0\n"
         << "cluster-allow-replica-migration no\n"
         << "appendonly no\n"
         << "save \"\"\n";
  config.close();
  server.pid = spawn_child({server_binary, folder + "/redis.conf"}, folder + "/redis.log");
  bool answers = wait_until(server_start_ms_max, [&] {
    CommandResult ping =
        run_command({cli_binary, "-h", "127.0.0.1", "-p", std::to_string(server.port), "PING"}, cli_timeout_ms);
    return ping.output.find("PONG") != std::string::npos;
  });
  if (!answers) {
    throw std::runtime_error("redis-server on port " + std::to_string(server.port) + " did not start:\n" + logs());
  }
}

void RedisCluster::create_cluster() {
  std::vector<std::string> command = {cli_binary, "--cluster", "create"};
  for (const Server& server : servers_) command.push_back("127.0.0.1:" + std::to_string(server.port));
  command.insert(command.end(), {"--cluster-replicas", "1", "--cluster-yes"});
  CommandResult created = run_command(command, cluster_ready_ms_max);
  if (created.exit_code != 0) throw std::runtime_error("redis-cli --cluster create failed:\n" + created.output);
  if (!wait_until(cluster_ready_ms_max, [&] { return healthy(); })) {
    throw std::runtime_error("the cluster did not become healthy in time:\n" + logs());
  }
}

// Every node: cluster_state:ok, all six known, and a replica's link up.
bool RedisCluster::healthy() const {
  for (const Server& server : servers_) {
    std::string info = cli(server.port, {"CLUSTER", "INFO"});
    if (info.find("cluster_state:ok") == std::string::npos) return false;
    if (info.find("cluster_known_nodes:" + std::to_string(node_count)) == std::string::npos) return false;
    std::string replication = cli(server.port, {"INFO", "replication"});
    bool replica = replication.find("role:slave") != std::string::npos;
    if (replica && replication.find("master_link_status:up") == std::string::npos) return false;
  }
  return true;
}

std::string RedisCluster::url() const { return "redis-cluster://127.0.0.1:" + std::to_string(servers_.front().port); }

std::vector<int> RedisCluster::ports() const {
  std::vector<int> ports;
  for (const Server& server : servers_) ports.push_back(server.port);
  return ports;
}

std::string RedisCluster::cli(int port, const std::vector<std::string>& arguments) const {
  std::vector<std::string> command = {cli_binary, "-h", "127.0.0.1", "-p", std::to_string(port), "--raw"};
  command.insert(command.end(), arguments.begin(), arguments.end());
  CommandResult result = run_command(command, cli_timeout_ms);
  if (result.exit_code != 0) {
    throw std::runtime_error("redis-cli on port " + std::to_string(port) + " failed (" +
                             std::to_string(result.exit_code) + "): " + result.output);
  }
  return result.output;
}

int RedisCluster::slot_of(const std::string& key) const {
  return std::atoi(cli(first_live_port(), {"CLUSTER", "KEYSLOT", key}).c_str());
}

std::string RedisCluster::node_id(int port) const {
  std::string id = cli(port, {"CLUSTER", "MYID"});
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  return id;
}

int RedisCluster::primary_of_slot(int slot) const {
  int port = serving_port(cli(first_live_port(), {"CLUSTER", "NODES"}), slot);
  if (port == 0) throw std::runtime_error("no node serves slot " + std::to_string(slot));
  return port;
}

std::vector<int> RedisCluster::primaries() const {
  std::vector<int> ports;
  for (const NodeLine& node : parse_nodes(cli(first_live_port(), {"CLUSTER", "NODES"}))) {
    if (node.primary && !node.slot_ranges.empty()) ports.push_back(node.port);
  }
  return ports;
}

int RedisCluster::kill9_primary_of_slot(int slot) {
  int port = primary_of_slot(slot);
  for (Server& server : servers_) {
    if (server.port == port && server.pid > 0) {
      kill9_child(server.pid);
      server.pid = -1;
      return port;
    }
  }
  throw std::runtime_error("the primary of slot " + std::to_string(slot) + " is not running");
}

int RedisCluster::kill9_primary_of(const std::string& key) { return kill9_primary_of_slot(slot_of(key)); }

int RedisCluster::wait_for_failover(int slot, int old_primary, int timeout_ms) {
  int new_primary = 0;
  bool promoted = wait_until(timeout_ms, [&] {
    int agreed = 0;
    for (const Server& server : servers_) {
      if (server.pid < 0) continue;
      if (cli(server.port, {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) return false;
      int serving = serving_port(cli(server.port, {"CLUSTER", "NODES"}), slot);
      if (serving == 0 || serving == old_primary || (agreed != 0 && serving != agreed)) return false;
      agreed = serving;
    }
    new_primary = agreed;
    return agreed != 0;
  });
  if (!promoted) {
    throw std::runtime_error("no replica took over slot " + std::to_string(slot) + " within " +
                             std::to_string(timeout_ms) + " ms:\n" + logs());
  }
  return new_primary;
}

int RedisCluster::first_live_port() const {
  for (const Server& server : servers_) {
    if (server.pid > 0) return server.port;
  }
  throw std::runtime_error("every node of the cluster is dead");
}

std::string RedisCluster::logs() const {
  std::ostringstream text;
  for (const Server& server : servers_) {
    std::ifstream log(directory_ + "/" + std::to_string(server.port) + "/redis.log");
    std::string content((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    constexpr std::size_t tail_bytes = 2000;
    if (content.size() > tail_bytes) content = "..." + content.substr(content.size() - tail_bytes);
    text << "--- redis-server " << server.port << " ---\n" << content << "\n";
  }
  return text.str();
}

}  // namespace payd::testing
