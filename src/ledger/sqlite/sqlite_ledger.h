// SqliteLedger: the embedded ledger (WAL) with group commit.
//
// The group-commit writer's thread (group_commit.h) owns the only
// read-write connection and commits up to batch_size_max submissions per
// transaction; another thread fdatasyncs the WAL behind it, and a batch is
// answered once that has made it durable (pipelined_sync). A database failure rolls the batch back and runs each of its
// submissions again on its own, so one poisoned submission cannot fail its
// neighbours. Reads use a small pool of read-only connections (WAL lets them
// run beside the writer).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "ledger/group_commit.h"
#include "ledger/ledger.h"
#include "metrics/metrics.h"

namespace payd::ledger::sqlite {

class Connection;
class SqliteWriteStore;
class Statement;

struct SqliteOptions {
  std::string path;                     // database file; its folder must exist
  std::size_t batch_size_max = 512;     // submissions per transaction
  std::size_t queue_capacity = 16'384;  // queued submissions before 503 overloaded
  std::size_t readers_max = 8;          // pooled read-only connections
  // Entries are added to the per-account index in sorted runs: a run starts
  // once this many are waiting, and each batch adds a slice of it, so no
  // commit carries a whole run; when the writer has had nothing to do for
  // index_idle_after_ms, everything is indexed at once.
  //
  // A slice is index_rows_per_entry rows for each entry the batch posted
  // (at least index_slice_rows_min): the run keeps pace with the load and
  // its cost is spread over a quarter of the batches, each a little longer,
  // rather than a few much longer. With fixed slices of 1,024 rows, at
  // 10,000 transfers/s a run came every 0.8 s and its 16 slices added 1-2
  // ms each to their batches (and as much again to their commits); most of
  // the requests over 10 ms were queued behind them, and the p99 was
  // 7.3-13.6 ms in four runs against 5.4-7.0 ms with these slices.
  // Readers scan about 1.25 times unindexed_entries_max unindexed entries
  // at most (a run ends when a quarter as many more have come).
  std::int64_t unindexed_entries_max = 16'384;
  std::int64_t index_rows_per_entry = 4;  // 0: every slice is index_slice_rows_min rows
  std::int64_t index_slice_rows_min = 64;
  bool index_when_idle = true;
  int index_idle_after_ms = 20;
  // Commits write the WAL without waiting for the disk and a second thread
  // fdatasyncs it, answering each batch once a sync that began after its
  // commit has returned (group_commit.h). false: every COMMIT fsyncs
  // (synchronous=FULL) on the writer thread.
  bool pipelined_sync = true;
  // With the pipelined sync, under a steady stream a batch stays open this
  // long from its first submission (GroupCommitWriter's commit window).
  int commit_window_us = 500;
  // How often the WAL is copied into the database. A page changed several
  // times between two checkpoints is copied once: at 200 ms rather than 50
  // the checkpointer wrote about 40% fewer bytes and used half the CPU
  // with UUIDv4 keys.
  int checkpoint_interval_ms = 200;
  int wal_frames_restart_min = 65'536;  // WAL size (4 KiB frames) at which the writer has it started over
};
static_assert(512 <= 16'384, "the default queue must hold at least one full batch");

class SqliteLedger final : public Ledger {
 public:
  SqliteLedger(SqliteOptions options, IdGenerator& ids, Clock& clock, metrics::Registry& registry);
  ~SqliteLedger() override;

  // Opens the database, applies migrations and starts the writer. A Problem
  // (internal_error) says why it could not.
  Status open();

  void submit(Submission submission, std::function<void(Outcome)> done) override;

  Result<Account> account(const std::string& id) override;
  Result<List<Entry>> entries(const std::string& account, const Page& page) override;
  Result<Transfer> transfer(const std::string& id) override;
  Result<Merchant> merchant(const std::string& id) override;
  Result<PaymentMethod> payment_method(const std::string& id) override;
  Result<Payment> payment(const std::string& id) override;
  Result<FxRate> fx_rate(const std::string& base, const std::string& quote) override;
  Result<List<Payment>> payments(const std::string& merchant, const Page& page) override;
  Result<std::vector<TrialBalanceLine>> trial_balance() override;
  Result<std::vector<Payment>> pending_card_payments(std::int64_t older_than_ms, int limit) override;
  Result<bool> has_idempotency_key(const std::string& key) override;
  Result<std::int64_t> purge_idempotency(std::int64_t created_before_ms) override;
  Stats stats() override;
  bool healthy() override;
  void shutdown() override;

 private:
  using Item = QueuedSubmission;
  class ReaderLease;

  // The checkpointer thread copies the WAL into the database without
  // blocking the writer. Under steady writes it never catches up with the
  // end of the WAL, so the WAL would only grow: once it holds
  // wal_frames_restart_min frames the checkpointer syncs the database file
  // and copies what was appended meanwhile, in rounds until little is new,
  // then asks the writer thread (between two batches, where no
  // busy-waiting on locks is needed) to copy the little that is left,
  // after which SQLite starts the WAL over.
  void checkpoint_loop();
  void restart_wal();
  // The durability step of pipelined_sync: fdatasync of the WAL. A failure
  // is final: after a failed fsync the kernel may have dropped the pages,
  // and a later fsync that succeeds proves nothing about them.
  bool sync_wal();
  // Runs `items` in one transaction; returns one outcome per item. With
  // `extend`, adds what arrives while the previous batch is being made
  // durable (GroupCommitWriter::take_more) to `items` and runs it too.
  std::vector<Outcome> commit_batch(std::vector<Item>& items, bool extend);
  // The writer's idle work: brings the per-account index up to date.
  void index_when_idle();
  std::vector<Outcome> commit_each_alone(std::vector<Item>& items);
  template <typename T, typename Read>
  Result<T> read(Read&& read_function);
  // The row `sql` finds by `keys` (bound in order), or not_found
  // "no <noun> <keys joined by '/'>".
  template <typename T>
  Result<T> read_one(const std::string& sql, std::initializer_list<std::string_view> keys,
                     T (*reader)(const Statement&), std::string_view noun);

  SqliteOptions options_;
  IdGenerator& ids_;
  Clock& clock_;

  std::unique_ptr<Connection> writer_connection_;
  std::unique_ptr<SqliteWriteStore> store_;
  GroupCommitWriter writer_;
  std::thread checkpointer_;
  std::atomic<bool> healthy_{true};
  std::atomic<bool> wal_restart_due_{false};
  int wal_fd_ = -1;  // the WAL, for sync_wal()
  std::atomic<bool> sync_failed_{false};

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;

  metrics::Counter& rollbacks_;
};

}  // namespace payd::ledger::sqlite
