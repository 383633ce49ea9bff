// One PostgreSQL server for the whole test binary, and a fresh database per
// test, so tests do not see each other's rows and initdb runs once.
#pragma once

#include <string>

#include "tests/support/postgres_server.h"

namespace payd::ledger::postgres {

// The server shared by the tests (started on first use, stopped at exit).
testing::PostgresServer& shared_server();
// A new empty database on the shared server; its URL.
std::string fresh_database_url();

}  // namespace payd::ledger::postgres
