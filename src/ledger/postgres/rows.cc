#include "ledger/postgres/rows.h"

namespace payd::ledger::postgres {

Account read_account(const Rows& rows, int row) { return ledger::read_account(RowView(rows, row)); }
Entry read_entry(const Rows& rows, int row) { return ledger::read_entry(RowView(rows, row)); }
Transfer read_transfer(const Rows& rows, int row) { return ledger::read_transfer(RowView(rows, row)); }
Merchant read_merchant(const Rows& rows, int row) { return ledger::read_merchant(RowView(rows, row)); }
PaymentMethod read_payment_method(const Rows& rows, int row) {
  return ledger::read_payment_method(RowView(rows, row));
}
Payment read_payment(const Rows& rows, int row) { return ledger::read_payment(RowView(rows, row)); }
FxRate read_fx_rate(const Rows& rows, int row) { return ledger::read_fx_rate(RowView(rows, row)); }

}  // namespace payd::ledger::postgres
