// PostgresWriteStore: the WriteStore of the PostgreSQL ledger (see
// ledger/store.h), safe with many payd nodes writing one database.
//
// Another node may change any balance between two batches, so accounts are
// cached for one batch only. begin_batch() locks, in one statement and in
// account order, every account the batch's commands name (FOR UPDATE), so
// concurrent nodes queue on the same rows in the same order; an account
// found later (a merchant's or a system account) is locked when first used.
// Entries, journal rows, refunds, payments and idempotency keys are staged
// in memory (find_* sees the staged rows) and written by flush_and_commit()
// in one libpq pipeline that ends with the COMMIT, entries, journal rows and
// balances set-based with unnest(). Rare writes (accounts, merchants,
// payment methods) go at once.
//
// begin_batch() also reads, in one statement, the stored idempotency keys
// the submissions carry, so executing them asks nothing more. New keys are
// inserted set-based too, in a plain INSERT: when another node stored the same
// key first, flush_and_commit() throws a conflict and the writer runs the submission
// again, which then replays. Payments are locked when read, so two nodes
// cannot finish the same card payment twice. Writer thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "ledger/ledger.h"
#include "ledger/postgres/connection.h"
#include "ledger/store.h"

namespace payd::ledger::postgres {

class PostgresWriteStore final : public WriteStore {
 public:
  // Prepares the store's statements on `connection`. Throws DatabaseError.
  PostgresWriteStore(Connection& connection, IdGenerator& ids, Clock& clock);

  // Opens the batch's transaction, locks the accounts the submissions name
  // and reads the idempotency keys and merchants they carry: one round trip
  // (two when a submission names a merchant this store has not seen). The
  // caller commits or rolls back.
  void begin_batch(const std::vector<const Submission*>& submissions);
  // Writes every staged row and touched balance and commits, in one round
  // trip. Throws DatabaseError; then nothing of the batch is committed
  // (except when the connection broke during the COMMIT itself, as with any
  // commit: the caller answers 503 and a retry replays or runs once).
  void flush_and_commit();
  // Forgets everything of the batch (after a commit or a rollback).
  void end_batch();

  Account* find_account(const std::string& id) override;
  Account& system_account(const std::string& currency, SystemRole role) override;
  Account& insert_account(const Account& account) override;
  void touch(Account& account) override;

  std::optional<StoredKey> find_key(const std::string& key) override;
  void put_key(const StoredKey& key) override;

  void insert_entry(const Entry& entry) override;
  void insert_transfer(const Transfer& transfer) override;
  void insert_deposit(const Deposit& deposit) override;

  std::optional<Merchant> find_merchant(const std::string& id) override;
  void put_merchant(const Merchant& merchant) override;
  std::optional<PaymentMethod> find_payment_method(const std::string& id) override;
  void insert_payment_method(const PaymentMethod& method) override;
  std::optional<Payment> find_payment(const std::string& id) override;
  void put_payment(const Payment& payment) override;
  void insert_refund(const Refund& refund) override;
  FxRate put_fx_rate(const std::string& base, const std::string& quote, const Rate& rate,
                     std::int64_t now_ms) override;

 private:
  struct JournalRow {
    std::string id, kind, from, to;
    Minor amount;
    std::string currency, description, metadata_json;
    std::int64_t created_at_ms;
  };
  void stage_balances(std::vector<PipelinedStatement>& pipeline);
  void stage_entries(std::vector<PipelinedStatement>& pipeline);
  void stage_journal(std::vector<PipelinedStatement>& pipeline);
  void stage_rows(std::vector<PipelinedStatement>& pipeline);
  void stage_payments(std::vector<PipelinedStatement>& pipeline);
  void stage_keys(std::vector<PipelinedStatement>& pipeline);
  static std::vector<std::string> key_names(const std::vector<const Submission*>& submissions);
  // Keep what the lock and key statements of begin_batch() returned.
  void load_accounts(const Rows& rows);
  void load_keys(std::vector<std::string> names, const Rows& rows);
  void load_merchants(const Rows& rows);
  // Of `merchants`, those whose account this store does not know yet.
  std::vector<std::string> merchants_without_account(const std::vector<std::string>& merchants);

  Connection& connection_;
  IdGenerator& ids_;
  Clock& clock_;
  // This batch's locked accounts; node-stable system account ids survive.
  std::unordered_map<std::string, Account> accounts_;
  std::unordered_map<std::string, std::string> system_accounts_;  // currency + role -> id
  std::unordered_map<std::string, std::string> merchant_accounts_;  // merchant -> account, which never changes
  std::unordered_map<std::string, Merchant> merchants_;  // read or written in this batch
  std::vector<Account*> touched_;
  std::unordered_set<const Account*> touched_set_;
  std::vector<Entry> entries_;
  std::vector<JournalRow> journal_;
  std::vector<Refund> refunds_;
  std::unordered_map<std::string, Payment> payments_;
  std::vector<std::string> payment_order_;
  std::unordered_map<std::string, StoredKey> keys_;
  std::vector<std::string> key_order_;
  // What the database held, when the batch began, for each key the batch's
  // submissions carry (nullopt: none), so executing them asks no more.
  std::unordered_map<std::string, std::optional<StoredKey>> keys_loaded_;
  std::unordered_set<std::string> keys_in_database_;
};

}  // namespace payd::ledger::postgres
