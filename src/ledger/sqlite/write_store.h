// SqliteWriteStore: the WriteStore of the SQLite ledger (see ledger/store.h).
//
// Accounts are cached in memory across batches: the writer is the only
// process and thread that changes them, so the cache is the truth between
// commits. Changed accounts are written once per batch by flush(). After a
// rollback, discard_cached_state() drops the cache so it is reloaded from
// the database. Writer thread only.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "ledger/sqlite/database.h"
#include "ledger/store.h"

namespace payd::ledger::sqlite {

class SqliteWriteStore final : public WriteStore {
 public:
  SqliteWriteStore(Connection& connection, IdGenerator& ids, Clock& clock);
  ~SqliteWriteStore() override;

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

  // Writes every account touched since the last flush.
  void flush();
  // Entries appended after entries_indexed_through (a run under way
  // included).
  std::int64_t unindexed_entries() const;
  // The per-account index is filled by runs: start_index_run() takes every
  // unindexed entry, in account order, and index_slice() adds the next
  // `rows_max` of them to entries_by_account, so each account's index page
  // is written about once a run and no single commit does the whole run.
  // Both write in the caller's transaction (rows_max at least 1). The
  // unindexed entries are kept in memory by account as they are inserted,
  // so starting a run sorts only the accounts (sorting the entries in SQL
  // stalled the writer for 10-25 ms).
  bool index_run_active() const { return run_through_ > 0; }
  void start_index_run();
  void index_slice(std::int64_t rows_max);
  // Indexes every unindexed entry now.
  void index_entries();
  // Forgets cached accounts (after a rollback).
  void discard_cached_state();

  // Bounds the account cache; checked between batches.
  static constexpr std::size_t cached_accounts_max = 200'000;

 private:
  struct Statements;
  // Reads the entry numbers and the run under way (after a restart or a
  // rollback, from the database).
  void load_entry_numbers();
  // An unindexed entry of one account. An account's entries are numbered
  // in posting order and its sequence grows with them, so appending keeps
  // each account's rows in (sequence) order and only accounts need sorting
  // when a run starts (a map ordered by (account, sequence) spent 8% of the
  // writer's time comparing account ids).
  struct IndexRow {
    std::int64_t sequence;
    std::int64_t number;
  };
  using PendingRows = std::unordered_map<std::string, std::vector<IndexRow>>;
  // The run's accounts in SQLite's BINARY order (std::string's), each with
  // its rows not indexed yet.
  using RunRows = std::vector<std::pair<std::string, std::vector<IndexRow>>>;
  // Adds the entries numbered in (after_number, through_number] whose
  // (account, sequence) comes after (after_account, after_sequence).
  void load_unindexed(PendingRows& rows, std::int64_t after_number, std::int64_t through_number,
                      const std::string& after_account, std::int64_t after_sequence);
  // Makes `rows` the run under way, its accounts sorted.
  void take_run(PendingRows&& rows);
  void save_run(const std::string& account, std::int64_t sequence);

  Connection& connection_;
  IdGenerator& ids_;
  Clock& clock_;
  std::unique_ptr<Statements> statements_;
  std::unordered_map<std::string, Account> accounts_;
  std::unordered_map<std::string, std::string> system_accounts_;  // currency + role -> id
  std::vector<Account*> touched_;
  std::unordered_set<const Account*> touched_set_;
  std::int64_t next_entry_number_ = 1;
  std::int64_t indexed_through_ = 0;
  std::int64_t run_through_ = 0;   // the last entry of the run under way; 0: none
  RunRows run_;                   // the rows of the run under way, from run_next_ on not indexed yet
  std::size_t run_next_ = 0;      // the first account of run_ with rows left
  PendingRows pending_;  // the entries after the run (after indexed_through_ when none)
};

}  // namespace payd::ledger::sqlite
