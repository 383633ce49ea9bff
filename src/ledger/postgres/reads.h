// The ledger's reads on PostgreSQL, each as a Read: prepared statements
// sent together in one pipeline (one round trip) and how their rows make the
// answer.
//
// The blocking readers (background workers, payctl, tests) and the
// asynchronous client on the event loop (HTTP reads, see read_client.h) run
// the same Reads, so both answer alike.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "domain/model.h"
#include "ledger/ledger.h"
#include "ledger/postgres/connection.h"

namespace payd::ledger::postgres {

struct ReadStatement {
  std::string name;
  std::string sql;
};

// Every statement a Read names: prepare them on each read connection.
const std::vector<ReadStatement>& read_statements();

template <typename T>
struct Read {
  std::vector<PipelinedStatement> statements;
  // The answer from the rows of `statements`: one Rows each, in order.
  std::function<Result<T>(std::vector<Rows>& rows)> answer;
};

Read<Account> account_read(const std::string& id);
Read<List<Entry>> entries_read(const std::string& account, const Page& page);
Read<Transfer> transfer_read(const std::string& id);
Read<Merchant> merchant_read(const std::string& id);
Read<PaymentMethod> payment_method_read(const std::string& id);
Read<Payment> payment_read(const std::string& id);
// not_found when the pair's rate was never set.
Read<FxRate> fx_rate_read(const std::string& base, const std::string& quote);
// 400 invalid_request (param merchant) for a merchant that does not exist.
Read<List<Payment>> payments_read(const std::string& merchant, const Page& page);
// Whether an idempotency record (completed or started) exists for `key`.
Read<bool> idempotency_key_read(const std::string& key);
// Each currency's sum of balances and its system accounts, from one
// snapshot (a single statement).
Read<std::vector<TrialBalanceLine>> trial_balance_read();

}  // namespace payd::ledger::postgres
