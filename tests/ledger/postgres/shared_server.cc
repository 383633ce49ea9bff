#include "tests/ledger/postgres/shared_server.h"

#include <atomic>

namespace payd::ledger::postgres {

testing::PostgresServer& shared_server() {
  static testing::PostgresServer server;
  return server;
}

std::string fresh_database_url() {
  static std::atomic<int> next{1};
  return shared_server().create_database("test_" + std::to_string(next++));
}

}  // namespace payd::ledger::postgres
