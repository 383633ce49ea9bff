// PostgresServer: a private PostgreSQL 15 for integration tests.
//
// Creates a cluster with initdb in a fresh temporary folder and runs it on
// 127.0.0.1 at a free port (its Unix socket in the same folder), with
// fsync on and trust authentication, so tests run against a real server
// without touching any other. When the process runs as root, the folder is
// given to the `postgres` user and the server runs as that user (the
// server refuses to run as root). Every wait is bounded. The destructor
// stops the server (immediate) and deletes the folder.
//
// Not thread-safe: one thread drives the harness; the server itself serves
// any number of connections.
#pragma once

#include <string>

namespace payd::testing {

class PostgresServer {
 public:
  // Starts the server and creates the database `payd`. Throws
  // std::runtime_error with the server's log when it cannot.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // postgresql://postgres@127.0.0.1:PORT/payd
  std::string url() const { return url_of("payd"); }
  std::string url_of(const std::string& database) const;
  // Creates an empty database; returns its URL.
  std::string create_database(const std::string& database);

  // Kills the server without a checkpoint, as a crash would (pg_ctl stop
  // -m immediate). Connections break at once.
  void stop_immediate();
  // Starts it again on the same port and folder, waiting until it accepts
  // connections.
  void start();
  int port() const { return port_; }

 private:
  // Runs a PostgreSQL program as the server's user; returns its exit code.
  int run_as_server_user(const std::string& command) const;
  std::string log() const;

  std::string directory_;
  std::string binaries_ = "/usr/lib/postgresql/15/bin";
  int port_ = 0;
  bool running_ = false;
};

}  // namespace payd::testing
