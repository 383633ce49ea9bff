// The SQLite ledger schema and its versioned migrations.
#pragma once

#include "ledger/sqlite/database.h"

namespace payd::ledger::sqlite {

// Applies the pragmas every writer connection needs (WAL, synchronous=FULL)
// and every migration not yet applied, in one transaction each.
void prepare_database(Connection& connection);

// Pragmas for a reader connection.
void prepare_reader(Connection& connection);

}  // namespace payd::ledger::sqlite
