// The PostgreSQL ledger's schema: versioned migrations, applied at start.
#pragma once

#include "ledger/postgres/connection.h"

namespace payd::ledger::postgres {

// Applies the migrations this build knows and the database has not seen,
// in one transaction holding an advisory lock, so nodes starting together
// apply each migration once. Throws DatabaseError.
void apply_migrations(Connection& connection);

}  // namespace payd::ledger::postgres
