// RedisServer and RedisSentinelSet: private Redis 7 servers for
// integration tests.
//
// Each server runs /usr/bin/redis-server in a fresh temporary folder on
// 127.0.0.1 at a free port, without persistence, optionally with a password,
// an ACL user and TLS (a CA and a server certificate for 127.0.0.1 and
// localhost made with the openssl command into the folder). Servers are
// child processes that the kernel kills if the test process dies
// (PR_SET_PDEATHSIG); the destructors kill them and delete the folders, so
// nothing is left behind when a test fails. Every wait is bounded.
//
// Not thread-safe: one thread drives the harness.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace payd::testing {

struct RedisServerOptions {
  std::string password;       // requirepass: the default user's password
  std::string acl_user;       // a second user allowed everything,
  std::string acl_password;   // with this password
  bool tls = false;           // the port speaks TLS only
  std::vector<std::string> config_lines;  // appended to redis.conf
  bool sentinel = false;      // run as a Sentinel (redis-server --sentinel)
};

class RedisServer {
 public:
  // Starts the server and waits until it answers PING. Throws
  // std::runtime_error with the server's log when it does not.
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  // redis://127.0.0.1:PORT, or rediss://, without credentials.
  std::string url() const;
  // The CA that signed the server's certificate (TLS only).
  std::string ca_file() const { return directory_ + "/ca.crt"; }

  // SIGKILL, as a crash would: connections break at once.
  void kill9();
  // SIGTERM, and waits for the process to end.
  void stop();
  // Starts it again on the same port and folder (after kill9 or stop).
  void restart();
  bool running() const { return pid_ > 0; }

  // Runs redis-cli with `arguments` against the server (authenticated, TLS
  // as needed) and returns its output, trailing newline removed.
  std::string cli(const std::string& arguments) const;

 private:
  void write_config() const;
  void make_certificates() const;
  void start();
  void wait_until_answering();
  void end(int signal);
  std::string log() const;

  RedisServerOptions options_;
  std::string directory_;
  int port_ = 0;
  pid_t pid_ = 0;
};

// A primary, one replica of it, and three Sentinels monitoring the primary
// as master `m` (quorum 2, down after 1 s, failover timeout 5 s). The
// constructor returns once every Sentinel knows the replica and the other
// Sentinels, so a failover can happen.
class RedisSentinelSet {
 public:
  RedisSentinelSet();
  RedisServer& primary() { return *servers_[0]; }
  RedisServer& replica() { return *servers_[1]; }
  RedisServer& sentinel(int index) { return *servers_[2 + index]; }
  static constexpr int sentinel_count = 3;
  static constexpr const char* master_name = "m";

  // redis-sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/m
  std::string url() const;
  // The master's port according to the first Sentinel still running; 0
  // when none answers.
  int master_port();

 private:
  std::vector<std::unique_ptr<RedisServer>> servers_;
};

}  // namespace payd::testing
