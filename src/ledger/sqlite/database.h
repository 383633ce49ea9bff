// Thin RAII wrappers over the SQLite C API.
//
// Errors from SQLite are exceptional here (disk full, corruption, a bug in
// a statement): they throw DatabaseError, which the ledger turns into a 503
// `unavailable` or 500 `internal_error` after rolling back. Not thread-safe:
// a Connection and its Statements belong to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace payd::ledger::sqlite {

class Statement;

class DatabaseError : public std::runtime_error {
 public:
  DatabaseError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }
  // A constraint or trigger refused a write: a bug in payd, not an outage.
  bool is_constraint() const;

 private:
  int code_;
};

class Connection {
 public:
  // Opens (creating when asked) the database at `path`, through the SQLite
  // VFS named `vfs` (nullptr: the default one).
  Connection(const std::string& path, bool read_only, const char* vfs = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void execute(std::string_view sql);  // one or more statements, no results
  // Copies WAL frames into the database file. Passive: never waits for
  // the writer or readers. Restart: waits for them, then lets the next
  // writer start the WAL from its beginning. Returns the WAL's size in
  // frames and how many of them are now in the database file.
  struct CheckpointResult {
    int wal_frames = 0;
    int checkpointed_frames = 0;
  };
  CheckpointResult checkpoint(bool restart);
  sqlite3* handle() { return db_; }
  std::int64_t changes() const;
  // The statement for `sql`, prepared on first use and kept for the
  // connection's life (reads run the same few statements all day; preparing
  // one costs more than running it). Reset it after use (ResetOnExit); one
  // user at a time.
  Statement& prepared(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> prepared_;
};

class Statement {
 public:
  Statement(Connection& connection, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binders use 1-based positions; return *this for chaining.
  Statement& bind(int position, std::int64_t value);
  // Text is not copied: it must outlive the statement's next reset() (which
  // run() and ResetOnExit call), so temporaries are refused. Binding, with
  // SQLite's copy of every string, took 7% of the writer's time.
  Statement& bind(int position, std::string_view text);
  Statement& bind(int position, std::string&& text) = delete;
  Statement& bind(int position, const char* text) { return bind(position, std::string_view(text)); }
  Statement& bind_null(int position);
  Statement& bind_text_or_null(int position, std::string_view text);
  Statement& bind_text_or_null(int position, std::string&& text) = delete;

  // true when a row is available, false when done. Throws on error.
  bool step();
  // Steps a statement that returns no rows, then resets it.
  void run();
  // Ready for new bindings; every parameter is NULL again, so no bound
  // text is referred to after it.
  void reset();

  std::int64_t integer(int column) const;
  std::string text(int column) const;  // "" for NULL
  bool boolean(int column) const { return integer(column) != 0; }
  bool is_null(int column) const;

 private:
  Connection& connection_;
  sqlite3_stmt* statement_ = nullptr;
};

// Resets a statement when leaving scope, so it can be reused.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) : statement_(statement) {}
  ~ResetOnExit() { statement_.reset(); }

 private:
  Statement& statement_;
};

}  // namespace payd::ledger::sqlite
