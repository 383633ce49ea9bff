#include "tests/support/postgres_server.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/free_port.h"

namespace payd::testing {
namespace {

// Every pg_ctl wait is bounded by this.
constexpr int server_wait_s_max = 30;

}  // namespace

PostgresServer::PostgresServer() {
  char pattern[] = "/tmp/payd-postgres-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  if (geteuid() == 0 && std::system(("chown postgres: " + directory_).c_str()) != 0) {
    throw std::runtime_error("cannot give " + directory_ + " to the postgres user");
  }
  port_ = free_loopback_port();
  if (run_as_server_user(binaries_ + "/initdb -D " + directory_ + "/data -U postgres --auth=trust -E UTF8 "
                                     "--locale=C.UTF-8 --no-sync > " + directory_ + "/initdb.log 2>&1") != 0) {
    std::string failure = "initdb failed: " + log();
    std::filesystem::remove_all(directory_);
    throw std::runtime_error(failure);
  }
  start();
  create_database("payd");
}

PostgresServer::~PostgresServer() {
  if (running_) stop_immediate();
  std::filesystem::remove_all(directory_);
}

std::string PostgresServer::url_of(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::create_database(const std::string& database) {
  PGconn* connection = PQconnectdb((url_of("postgres") + "?connect_timeout=5").c_str());
  PGresult* result = PQexec(connection, ("CREATE DATABASE \"" + database + "\"").c_str());
  bool created = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string message = PQerrorMessage(connection);
  PQclear(result);
  PQfinish(connection);
  if (!created) throw std::runtime_error("cannot create database " + database + ": " + message);
  return url_of(database);
}

void PostgresServer::start() {
  std::string options = "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) +
                        " -c unix_socket_directories=" + directory_ + " -c fsync=on -c max_connections=100" +
                        // Recovery after a crash first syncs the data folder: one syncfs() rather than
                        // an fsync() per file of every test database, which takes longer than the
                        // start wait on a busy disk.
                        " -c recovery_init_sync_method=syncfs";
  if (run_as_server_user(binaries_ + "/pg_ctl start -w -t " + std::to_string(server_wait_s_max) + " -D " +
                         directory_ + "/data -l " + directory_ + "/server.log -o '" + options + "' > /dev/null") != 0) {
    throw std::runtime_error("PostgreSQL did not start: " + log());
  }
  running_ = true;
}

void PostgresServer::stop_immediate() {
  run_as_server_user(binaries_ + "/pg_ctl stop -m immediate -w -t " + std::to_string(server_wait_s_max) + " -D " +
                     directory_ + "/data > /dev/null");
  running_ = false;
}

int PostgresServer::run_as_server_user(const std::string& command) const {
  std::string wrapped = geteuid() == 0 ? "runuser -u postgres -- sh -c \"" + command + "\"" : command;
  return std::system(wrapped.c_str());
}

std::string PostgresServer::log() const {
  std::ostringstream text;
  for (const char* name : {"/initdb.log", "/server.log"}) {
    std::ifstream file(directory_ + name);
    text << file.rdbuf();
  }
  return text.str();
}

}  // namespace payd::testing
