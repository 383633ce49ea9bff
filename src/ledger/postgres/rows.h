// Row readers of the PostgreSQL ledger, shared by the writer's store and
// the readers: the readers of ledger/rows.h on one row of a result.
#pragma once

#include "domain/model.h"
#include "ledger/rows.h"
#include "ledger/postgres/connection.h"

namespace payd::ledger::postgres {

// The account columns of the lock statement, which joins the two tables
// itself (FOR UPDATE OF a table, not of a view).
inline constexpr const char* locked_account_columns =
    "r.id, r.currency, r.type, r.role, r.overdraft_limit, r.metadata, r.created_at, b.balance, b.held, b.version";

// One row of a result, as the readers of ledger/rows.h take it.
class RowView {
 public:
  RowView(const Rows& rows, int row) : rows_(rows), row_(row) {}
  std::string text(int column) const { return rows_.text(row_, column); }
  std::int64_t integer(int column) const { return rows_.integer(row_, column); }
  bool boolean(int column) const { return rows_.text(row_, column) == "t"; }

 private:
  const Rows& rows_;
  int row_;
};

// Each reads row `row` of a result that selected the matching column list.
Account read_account(const Rows& rows, int row);
Entry read_entry(const Rows& rows, int row);
Transfer read_transfer(const Rows& rows, int row);
Merchant read_merchant(const Rows& rows, int row);
PaymentMethod read_payment_method(const Rows& rows, int row);
Payment read_payment(const Rows& rows, int row);
FxRate read_fx_rate(const Rows& rows, int row);

}  // namespace payd::ledger::postgres
