// The PostgreSQL ledger's schema: versioned migrations, applied at start.
#pragma once

#include "ledger/postgres/connection.h"

namespace payd::ledger::postgres {

// The channel on which a change of cached reference data (a merchant, a
// payment method, an FX rate) notifies its cache key when it commits.
inline constexpr const char* cache_channel = "payd_cache";

// Applies the migrations this build knows and the database has not seen,
// in one transaction holding an advisory lock, so nodes starting together
// apply each migration once. Throws DatabaseError.
void apply_migrations(Connection& connection);

}  // namespace payd::ledger::postgres
