// ReadClient: PostgreSQL reads on the server's event loop, no thread per
// query.
//
// A bounded pool of non-blocking libpq connections, each driven by
// readiness callbacks of the event loop (core/descriptor_watcher.h):
//   - connections are made on demand with PQconnectStartParams and
//     PQconnectPoll, then prepare every read statement (reads.h) in one
//     pipeline; a connection that is not up within connect_timeout_s fails;
//   - a read is its statements sent in pipeline mode with one
//     synchronisation: one round trip. The server cancels a statement that
//     runs longer than statement_timeout_ms;
//   - when every connection is busy, reads wait in a bounded queue; beyond
//     waiting_max they are answered 503 `overloaded` at once;
//   - a connection that breaks answers its read 503 `unavailable` (a read
//     changes nothing, so nothing is half-done) and is dropped. New
//     connections are then made only after an exponential backoff with full
//     jitter; while it runs and no connection is up, reads are answered 503
//     `unavailable` at once rather than queued.
//
// The host name is resolved by libpq inside the connect call: use an
// address (or a name the resolver answers at once) so the loop never waits.
//
// Thread safety: run() may be called from any thread; the pool's state is
// guarded by a mutex held only for non-blocking libpq calls. `done` always
// runs later, on the event loop, never inside run().
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/descriptor_watcher.h"
#include "core/result.h"
#include "core/scheduler.h"
#include "ledger/postgres/connection.h"

namespace payd::ledger::postgres {

struct ReadClientOptions {
  std::string url;                   // as for Connection
  int connect_timeout_s = 5;         // a connection not up by then fails
  int statement_timeout_ms = 5'000;  // server side: longer statements are cancelled (503 unavailable)
  std::size_t connections_max = 8;
  std::size_t waiting_max = 1'024;   // reads queued while every connection is busy
  int reconnect_backoff_base_ms = 50;
  int reconnect_backoff_max_ms = 2'000;
};
static_assert(50 <= 2'000, "the backoff must be able to grow");

class ReadClient {
 public:
  using Done = std::function<void(Result<std::vector<Rows>>)>;

  // The scheduler, watcher and random must stay valid until close() (or
  // the destructor). Connects nothing yet.
  ReadClient(ReadClientOptions options, Scheduler& scheduler, DescriptorWatcher& watcher, Random& random);
  // Closes, as close().
  ~ReadClient();
  ReadClient(const ReadClient&) = delete;
  ReadClient& operator=(const ReadClient&) = delete;

  // Runs `statements` (prepared statements of reads.h) in one pipeline.
  // `done` runs exactly once on the event loop (unless the loop stops
  // first) with one Rows per statement, or with 503 `overloaded` (the
  // queue is full), 503 `unavailable` (the database cannot be reached, a
  // connection broke, a statement failed or was cancelled by the timeout).
  void run(std::vector<PipelinedStatement> statements, Done done);

  // Disconnects every connection and answers the reads in flight or
  // waiting 503 unavailable (if the loop still runs). Later reads are
  // answered the same. Idempotent.
  void close();

 private:
  class Pool;
  std::shared_ptr<Pool> pool_;
};

}  // namespace payd::ledger::postgres
