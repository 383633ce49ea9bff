#include "tests/support/redis_server.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/free_port.h"

namespace payd::testing {
namespace {

constexpr const char* server_binary = "/usr/bin/redis-server";
constexpr const char* cli_binary = "/usr/bin/redis-cli";
// Every wait for a server to start, stop or converge is bounded by this.
constexpr auto server_wait_max = std::chrono::seconds(20);
constexpr auto poll_interval = std::chrono::milliseconds(20);

int run(const std::string& command) { return std::system(command.c_str()); }

std::string output_of(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("popen failed: " + command);
  std::string output;
  char buffer[4096];
  std::size_t bytes;
  while ((bytes = fread(buffer, 1, sizeof buffer, pipe.get())) > 0) output.append(buffer, bytes);
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

}  // namespace

RedisServer::RedisServer(RedisServerOptions options) : options_(std::move(options)) {
  char pattern[] = "/tmp/payd-redis-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  port_ = free_loopback_port();
  try {
    if (options_.tls) make_certificates();
    write_config();
    start();
  } catch (...) {
    if (pid_ > 0) end(SIGKILL);
    std::filesystem::remove_all(directory_);
    throw;
  }
}

RedisServer::~RedisServer() {
  if (pid_ > 0) end(SIGKILL);
  std::filesystem::remove_all(directory_);
}

std::string RedisServer::url() const {
  return std::string(options_.tls ? "rediss" : "redis") + "://127.0.0.1:" + std::to_string(port_);
}

void RedisServer::make_certificates() const {
  std::string d = directory_;
  std::string quiet = " > " + d + "/openssl.log 2>&1";
  std::ofstream(d + "/server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  bool made = run("openssl req -x509" + key + " -keyout " + d + "/ca.key -out " + d +
                  "/ca.crt -days 2 -subj '/CN=payd test CA'" + quiet) == 0 &&
              run("openssl req" + key + " -keyout " + d + "/server.key -out " + d +
                  "/server.csr -subj '/CN=localhost'" + quiet) == 0 &&
              run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d +
                  "/ca.key -CAcreateserial -out " + d + "/server.crt -days 2 -extfile " + d + "/server.ext" +
                  quiet) == 0;
  if (!made) throw std::runtime_error("openssl could not make the test certificates");
}

void RedisServer::write_config() const {
  std::ofstream config(directory_ + "/redis.conf");
  config << "bind 127.0.0.1\n"
         << "protected-mode no\n"
         << "dir " << directory_ << "\n"
         << "logfile " << directory_ << "/server.log\n"
         << "daemonize no\n";
  if (options_.sentinel) {
    config << "port " << port_ << "\n";
  } else {
    config << "save \"\"\nappendonly no\n";
    if (options_.tls) {
      config << "port 0\ntls-port " << port_ << "\ntls-cert-file " << directory_ << "/server.crt\n"
             << "tls-key-file " << directory_ << "/server.key\ntls-ca-cert-file " << ca_file() << "\n"
             << "tls-auth-clients no\n";
    } else {
      config << "port " << port_ << "\n";
    }
    if (!options_.password.empty()) config << "requirepass " << options_.password << "\n";
    if (!options_.acl_user.empty()) {
      config << "user " << options_.acl_user << " on >" << options_.acl_password << " ~* &* +@all\n";
    }
  }
  for (const std::string& line : options_.config_lines) config << line << "\n";
}

void RedisServer::start() {
  std::string config = directory_ + "/redis.conf";
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Dies with the test process, even when it crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    if (options_.sentinel) {
      execl(server_binary, server_binary, config.c_str(), "--sentinel", static_cast<char*>(nullptr));
    } else {
      execl(server_binary, server_binary, config.c_str(), static_cast<char*>(nullptr));
    }
    _exit(127);
  }
  pid_ = pid;
  wait_until_answering();
}

void RedisServer::wait_until_answering() {
  auto give_up = std::chrono::steady_clock::now() + server_wait_max;
  while (std::chrono::steady_clock::now() < give_up) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      throw std::runtime_error("redis-server exited at start: " + log());
    }
    if (cli("PING") == "PONG") return;
    std::this_thread::sleep_for(poll_interval);
  }
  throw std::runtime_error("redis-server did not answer PING: " + log());
}

void RedisServer::end(int signal) {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = 0;
}

void RedisServer::kill9() { end(SIGKILL); }

void RedisServer::stop() { end(SIGTERM); }

void RedisServer::restart() {
  if (pid_ > 0) end(SIGKILL);
  start();
}

std::string RedisServer::cli(const std::string& arguments) const {
  std::string command = std::string(cli_binary) + " -h 127.0.0.1 -p " + std::to_string(port_);
  if (options_.tls) command += " --tls --cacert " + ca_file();
  if (!options_.password.empty()) command += " --no-auth-warning -a '" + options_.password + "'";
  return output_of(command + " " + arguments + " 2>&1");
}

std::string RedisServer::log() const {
  std::ifstream file(directory_ + "/server.log");
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

namespace {

RedisServerOptions sentinel_options(int master_port) {
  RedisServerOptions options;
  options.sentinel = true;
  std::string name = RedisSentinelSet::master_name;
  options.config_lines = {
      "sentinel monitor " + name + " 127.0.0.1 " + std::to_string(master_port) + " 2",
      "sentinel down-after-milliseconds " + name + " 1000",
      "sentinel failover-timeout " + name + " 5000",
      "sentinel parallel-syncs " + name + " 1",
  };
  return options;
}

// Lines of redis-cli output that look like "name\nvalue\n..." flattened.
int count_occurrences(const std::string& text, const std::string& word) {
  int count = 0;
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + word.size())) ++count;
  return count;
}

}  // namespace

RedisSentinelSet::RedisSentinelSet() {
  servers_.push_back(std::make_unique<RedisServer>());
  RedisServerOptions replica_options;
  replica_options.config_lines = {"replicaof 127.0.0.1 " + std::to_string(primary().port())};
  servers_.push_back(std::make_unique<RedisServer>(replica_options));
  for (int i = 0; i < sentinel_count; ++i) {
    servers_.push_back(std::make_unique<RedisServer>(sentinel_options(primary().port())));
  }
  // Each Sentinel must know the replica (from the master's INFO) and the
  // other Sentinels (from hello messages), or it could not fail over.
  std::string name = master_name;
  auto give_up = std::chrono::steady_clock::now() + server_wait_max;
  while (true) {
    bool converged = primary().cli("INFO replication").find("state=online") != std::string::npos;
    for (int i = 0; i < sentinel_count && converged; ++i) {
      std::string replicas = sentinel(i).cli("SENTINEL replicas " + name);
      std::string others = sentinel(i).cli("SENTINEL sentinels " + name);
      converged = replicas.find(std::to_string(replica().port())) != std::string::npos &&
                  count_occurrences(others, "runid") == sentinel_count - 1;
    }
    if (converged) return;
    if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("the Sentinels did not converge");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string RedisSentinelSet::url() const {
  std::string url = "redis-sentinel://";
  for (int i = 0; i < sentinel_count; ++i) {
    if (i != 0) url += ",";
    url += "127.0.0.1:" + std::to_string(servers_[2 + static_cast<std::size_t>(i)]->port());
  }
  return url + "/" + master_name;
}

int RedisSentinelSet::master_port() {
  for (int i = 0; i < sentinel_count; ++i) {
    if (!sentinel(i).running()) continue;
    std::string answer = sentinel(i).cli(std::string("SENTINEL get-master-addr-by-name ") + master_name);
    std::size_t newline = answer.find('\n');
    if (newline != std::string::npos) return std::atoi(answer.c_str() + newline + 1);
  }
  return 0;
}

}  // namespace payd::testing
