// The pool of ReadClient; see read_client.h for the design.
//
// Every libpq call happens with the pool's mutex held and never blocks:
// the connections are non-blocking, and each waits on the event loop for
// its socket. While a connection is up, one readable wait is always
// pending on its socket (renewed first thing when it fires, before the
// input is consumed), so no response and no hang-up is missed, and an idle
// connection the server closes is noticed and dropped. A writable wait is
// made only while PQflush has more to send.
//
// Callbacks hold the pool weakly and name a connection by its id: one that
// arrives for a connection since dropped does nothing.
#include "ledger/postgres/read_client.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "ledger/postgres/reads.h"
#include "resilience/backoff.h"

namespace payd::ledger::postgres {
namespace {

Problem unavailable(const std::string& detail) { return retry_soon("unavailable", detail); }

struct PendingRead {
  std::vector<PipelinedStatement> statements;
  ReadClient::Done done;
};

// One connection of the pool and what it is doing.
struct Link {
  enum class State {
    connecting,  // PQconnectPoll has not said OK yet
    preparing,   // the read statements are being prepared
    idle,
    reading,     // `read` is in flight
  };
  std::uint64_t id = 0;
  pg_conn* connection = nullptr;
  int socket = -1;
  State state = State::connecting;
  bool read_armed = false;   // a readable wait is pending
  bool write_armed = false;  // a writable wait is pending
  std::optional<PendingRead> read;
  std::vector<Rows> rows;            // the read's results so far
  std::optional<std::string> failure;  // the first failed statement's error
};

}  // namespace

class ReadClient::Pool : public std::enable_shared_from_this<Pool> {
 public:
  Pool(ReadClientOptions options, Scheduler& scheduler, DescriptorWatcher& watcher, Random& random)
      : options_(std::move(options)),
        settings_(options_.url, options_.connect_timeout_s, options_.statement_timeout_ms),
        scheduler_(scheduler),
        watcher_(watcher),
        random_(random) {
    assert(options_.connections_max >= 1);
    assert(options_.reconnect_backoff_base_ms > 0);
  }

  void run(PendingRead read) {
    std::lock_guard lock(mutex_);
    if (closed_) return answer(std::move(read.done), unavailable("the ledger is closed"));
    auto idle = std::find_if(links_.begin(), links_.end(),
                             [](const std::unique_ptr<Link>& link) { return link->state == Link::State::idle; });
    if (idle != links_.end()) return start_read(**idle, std::move(read));
    if (waiting_.size() >= options_.waiting_max) {
      return answer(std::move(read.done), retry_soon("overloaded", "every ledger read connection is busy"));
    }
    if (!backing_off_ && links_.size() < options_.connections_max) start_connecting();
    if (links_.empty()) {
      return answer(std::move(read.done), unavailable("the ledger database is unreachable: " + last_error_));
    }
    waiting_.push_back(std::move(read));
  }

  void close() {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    while (!links_.empty()) lose(*links_.back(), "the ledger is closed");
    assert(waiting_.empty());
  }

 private:
  // Everything below runs with mutex_ held. A function that may drop a
  // link (lose) says so; its caller must not touch the link afterwards.

  void start_connecting() {
    pg_conn* connection = PQconnectStartParams(settings_.keywords(), settings_.values(), 1);
    if (connection == nullptr || PQstatus(connection) == CONNECTION_BAD) {
      last_error_ = "cannot connect to PostgreSQL: " + error_message(connection);
      PQfinish(connection);
      return back_off();
    }
    auto link = std::make_unique<Link>();
    link->id = ++links_made_;
    link->connection = connection;
    links_.push_back(std::move(link));
    Link& added = *links_.back();
    scheduler_.post_after(std::chrono::seconds(options_.connect_timeout_s), [pool = weak_from_this(), id = added.id] {
      if (auto alive = pool.lock()) alive->connect_deadline(id);
    });
    // libpq's protocol: start as if PQconnectPoll had asked for writing.
    arm(added, DescriptorWatcher::Direction::writable);
  }

  // One step of PQconnectPoll. May drop the link.
  void advance_connect(Link& link) {
    forget_socket(link);  // libpq may move to another socket (another address) between steps
    switch (PQconnectPoll(link.connection)) {
      case PGRES_POLLING_READING:
        return arm(link, DescriptorWatcher::Direction::readable);
      case PGRES_POLLING_WRITING:
        return arm(link, DescriptorWatcher::Direction::writable);
      case PGRES_POLLING_OK:
        return prepare(link);
      default:
        return lose(link, "cannot connect to PostgreSQL: " + error_message(link.connection));
    }
  }

  // Sends every read statement's PREPARE in one pipeline. May drop the link.
  void prepare(Link& link) {
    bool sent = PQsetnonblocking(link.connection, 1) == 0 && PQenterPipelineMode(link.connection) == 1;
    for (const ReadStatement& statement : read_statements()) {
      sent = sent && PQsendPrepare(link.connection, statement.name.c_str(), statement.sql.c_str(), 0, nullptr) == 1;
    }
    sent = sent && PQpipelineSync(link.connection) == 1;
    if (!sent) return lose(link, "cannot prepare the read statements: " + error_message(link.connection));
    link.state = Link::State::preparing;
    arm(link, DescriptorWatcher::Direction::readable);
    flush(link);
  }

  // Sends `read` on the idle `link`. May drop the link (and answer the read).
  void start_read(Link& link, PendingRead read) {
    assert(link.state == Link::State::idle && !link.read);
    bool sent = send_pipeline(link.connection, read.statements);
    link.state = Link::State::reading;
    link.read = std::move(read);
    link.rows.clear();
    link.failure.reset();
    if (!sent) return lose(link, "cannot send a read: " + error_message(link.connection));
    flush(link);
  }

  // Sends what libpq holds. False when the link was dropped.
  bool flush(Link& link) {
    for (;;) {
      int flushed = PQflush(link.connection);
      if (flushed < 0) {
        lose(link, "cannot send to PostgreSQL: " + error_message(link.connection));
        return false;
      }
      if (flushed == 0 || link.write_armed) return true;
      // Wait, then try again: the socket may have drained before the wait.
      arm(link, DescriptorWatcher::Direction::writable);
    }
  }

  void on_ready(std::uint64_t id, DescriptorWatcher::Direction direction) {
    std::lock_guard lock(mutex_);
    Link* link = find(id);
    if (link == nullptr) return;
    bool readable = direction == DescriptorWatcher::Direction::readable;
    (readable ? link->read_armed : link->write_armed) = false;
    if (link->state == Link::State::connecting) return advance_connect(*link);
    if (readable) arm(*link, DescriptorWatcher::Direction::readable);
    if (flush(*link)) receive(*link);
  }

  // Reads what arrived and takes every complete result. May drop the link.
  void receive(Link& link) {
    if (PQconsumeInput(link.connection) == 0) {
      return lose(link, "lost the connection to PostgreSQL: " + error_message(link.connection));
    }
    while (link.state == Link::State::preparing || link.state == Link::State::reading) {
      if (PQisBusy(link.connection)) return;  // the rest has not arrived yet
      pg_result* result = PQgetResult(link.connection);
      if (result == nullptr) {
        if (PQstatus(link.connection) == CONNECTION_BAD) {
          return lose(link, "lost the connection to PostgreSQL: " + error_message(link.connection));
        }
        continue;  // the end of one statement's results
      }
      Rows rows(result);
      ExecStatusType status = PQresultStatus(result);
      if (status == PGRES_PIPELINE_SYNC) return finish(link);
      // After a failed statement the server skips the rest (aborted).
      if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK && !link.failure) {
        link.failure = error_message(result);
      }
      link.rows.push_back(std::move(rows));
    }
  }

  // The pipeline of `link` is complete. May drop the link.
  void finish(Link& link) {
    if (link.state == Link::State::preparing && link.failure) {
      return lose(link, "cannot prepare the read statements: " + *link.failure);
    }
    if (link.state == Link::State::preparing) {
      reconnect_attempts_ = 0;  // the database is back
    } else {
      assert(link.read && (link.failure || link.rows.size() == link.read->statements.size()));
      ReadClient::Done done = std::move(link.read->done);
      link.read.reset();
      if (link.failure) {
        answer(std::move(done), unavailable("a ledger read failed: " + *link.failure));
      } else {
        answer(std::move(done), std::move(link.rows));
      }
    }
    link.state = Link::State::idle;
    link.rows.clear();
    link.failure.reset();
    if (!waiting_.empty()) {
      PendingRead next = std::move(waiting_.front());
      waiting_.pop_front();
      start_read(link, std::move(next));
    }
  }

  void connect_deadline(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    Link* link = find(id);
    if (link != nullptr && (link->state == Link::State::connecting || link->state == Link::State::preparing)) {
      lose(*link, "cannot connect to PostgreSQL within " + std::to_string(options_.connect_timeout_s) + " s");
    }
  }

  // Drops `link`: its read is answered 503, and when no connection is left
  // the waiting reads are too. Reconnecting waits for the backoff.
  void lose(Link& link, const std::string& why) {
    last_error_ = why;
    forget_socket(link);
    PQfinish(link.connection);
    if (link.read) answer(std::move(link.read->done), unavailable("the ledger database failed: " + why));
    std::erase_if(links_, [&link](const std::unique_ptr<Link>& candidate) { return candidate.get() == &link; });
    if (links_.empty()) {
      for (PendingRead& read : waiting_) {
        answer(std::move(read.done), unavailable("the ledger database is unreachable: " + why));
      }
      waiting_.clear();
    }
    back_off();
  }

  void back_off() {
    if (backing_off_ || closed_) return;
    backing_off_ = true;
    auto delay = resilience::reconnect_delay(reconnect_attempts_, options_.reconnect_backoff_base_ms,
                                             options_.reconnect_backoff_max_ms, random_);
    ++reconnect_attempts_;
    scheduler_.post_after(delay, [pool = weak_from_this()] {
      if (auto alive = pool.lock()) alive->end_backoff();
    });
  }

  void end_backoff() {
    std::lock_guard lock(mutex_);
    backing_off_ = false;
    if (!closed_ && !waiting_.empty() && links_.size() < options_.connections_max) start_connecting();
  }

  void arm(Link& link, DescriptorWatcher::Direction direction) {
    bool& armed = direction == DescriptorWatcher::Direction::readable ? link.read_armed : link.write_armed;
    if (armed) return;
    link.socket = PQsocket(link.connection);
    if (link.socket < 0) return;  // libpq reports the failure on the next call
    armed = true;
    watcher_.wait(link.socket, direction, [pool = weak_from_this(), id = link.id, direction] {
      if (auto alive = pool.lock()) alive->on_ready(id, direction);
    });
  }

  void forget_socket(Link& link) {
    if (link.socket >= 0) watcher_.forget(link.socket);
    link.socket = -1;
    link.read_armed = false;
    link.write_armed = false;
  }

  Link* find(std::uint64_t id) {
    for (const std::unique_ptr<Link>& link : links_) {
      if (link->id == id) return link.get();
    }
    return nullptr;
  }

  // Runs `done` on the event loop, never inside the caller.
  void answer(ReadClient::Done done, Result<std::vector<Rows>> result) {
    auto shared = std::make_shared<Result<std::vector<Rows>>>(std::move(result));
    scheduler_.post([done = std::move(done), shared] { done(std::move(*shared)); });
  }

  const ReadClientOptions options_;
  const ConnectionSettings settings_;
  Scheduler& scheduler_;
  DescriptorWatcher& watcher_;
  Random& random_;

  std::mutex mutex_;
  std::vector<std::unique_ptr<Link>> links_;  // at most connections_max
  std::deque<PendingRead> waiting_;           // at most waiting_max
  std::uint64_t links_made_ = 0;
  int reconnect_attempts_ = 0;  // failures since the last connection came up
  bool backing_off_ = false;    // no new connection before the backoff ends
  bool closed_ = false;
  std::string last_error_;
};

ReadClient::ReadClient(ReadClientOptions options, Scheduler& scheduler, DescriptorWatcher& watcher, Random& random)
    : pool_(std::make_shared<Pool>(std::move(options), scheduler, watcher, random)) {}

ReadClient::~ReadClient() { close(); }

void ReadClient::run(std::vector<PipelinedStatement> statements, Done done) {
  pool_->run(PendingRead{std::move(statements), std::move(done)});
}

void ReadClient::close() { pool_->close(); }

}  // namespace payd::ledger::postgres
