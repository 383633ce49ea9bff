// Row readers of the PostgreSQL ledger, shared by the writer's store and
// the readers. Column lists and entry ids are those of the SQLite ledger
// (ledger/sqlite/rows.h): both schemas name their columns alike.
#pragma once

#include "domain/model.h"
#include "ledger/postgres/connection.h"

namespace payd::ledger::postgres {

// The account columns of the lock statement, which joins the two tables
// itself (FOR UPDATE OF a table, not of a view).
inline constexpr const char* locked_account_columns =
    "r.id, r.currency, r.type, r.role, r.overdraft_limit, r.metadata, r.created_at, b.balance, b.held, b.version";

// Each reads row `row` of a result that selected the matching column list.
Account read_account(const Rows& rows, int row);
Entry read_entry(const Rows& rows, int row);
Transfer read_transfer(const Rows& rows, int row);
Merchant read_merchant(const Rows& rows, int row);
PaymentMethod read_payment_method(const Rows& rows, int row);
Payment read_payment(const Rows& rows, int row);

}  // namespace payd::ledger::postgres
