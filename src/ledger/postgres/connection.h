// Thin RAII wrappers over libpq, in blocking mode.
//
// Every statement sends its parameters as text. Errors from PostgreSQL
// throw DatabaseError, classified by SQLSTATE so the ledger can decide:
// a lost connection is an outage (503 unavailable, reconnect), a conflict
// with another node (unique violation, deadlock, serialization failure) is
// resolved by running the submission again on its own, and a refused
// constraint or trigger is a bug in payd (500). Not thread-safe: a
// Connection belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace payd::ledger::postgres {

class DatabaseError : public std::runtime_error {
 public:
  enum class Kind {
    connection,  // the server is gone or refused us: nothing was committed by this statement
    conflict,    // another transaction got there first (23505, 40P01, 40001): run again
    constraint,  // a CHECK, trigger or other integrity rule refused a write
    other,
  };
  DatabaseError(Kind kind, std::string sqlstate, const std::string& message)
      : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)) {}
  Kind kind() const { return kind_; }
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  Kind kind_;
  std::string sqlstate_;
};

// Text parameters of one statement; a null is a missing value.
class Parameters {
 public:
  Parameters& add(std::string_view text);
  Parameters& add(std::int64_t value);
  Parameters& add_null();
  Parameters& add_text_or_null(std::string_view text);  // "" becomes NULL
  int size() const { return static_cast<int>(values_.size()); }
  // Pointers for libpq; valid while this object is unchanged.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
};

// PostgreSQL array literals for set-based statements (`unnest($1::text[])`).
std::string text_array(const std::vector<std::string>& values);
std::string integer_array(const std::vector<std::int64_t>& values);

// The rows of one statement's result. Owns the PGresult.
class Rows {
 public:
  explicit Rows(pg_result* result);
  int size() const;
  std::string text(int row, int column) const;  // "" for NULL
  std::int64_t integer(int row, int column) const;  // 0 for NULL
  bool is_null(int row, int column) const;
  // Rows changed by an INSERT, UPDATE or DELETE.
  std::int64_t changed() const;

 private:
  struct Free {
    void operator()(pg_result* result) const;
  };
  std::unique_ptr<pg_result, Free> result_;
};

// One statement of a pipeline: a prepared statement and its parameters.
struct PipelinedStatement {
  std::string name;
  Parameters parameters;
};

// The libpq settings of every payd connection, as PQconnectdbParams and
// PQconnectStartParams take them: `url` (a postgresql:// URL or key=value
// string), the connect timeout, and with `statement_timeout_ms` > 0 a
// server-side limit on every statement (a longer one is cancelled with an
// error like any other).
class ConnectionSettings {
 public:
  ConnectionSettings(const std::string& url, int connect_timeout_s, int statement_timeout_ms);
  ConnectionSettings(const ConnectionSettings&) = delete;
  ConnectionSettings& operator=(const ConnectionSettings&) = delete;
  // Null-terminated arrays, valid while this object lives.
  const char* const* keywords() const { return keywords_.data(); }
  const char* const* values() const { return values_.data(); }

 private:
  std::string url_;
  std::string connect_timeout_s_;
  std::string options_;
  std::vector<const char*> keywords_;
  std::vector<const char*> values_;
};

// Queues `statements` (prepared ones) and a synchronisation point on a
// connection in pipeline mode; false when libpq refused (see error_message).
bool send_pipeline(pg_conn* connection, const std::vector<PipelinedStatement>& statements);

// libpq's last error on `connection`, and the error of a failed
// `result`, without their trailing newline.
std::string error_message(const pg_conn* connection);
std::string error_message(const pg_result* result);

class Connection {
 public:
  // Connects to `url` (a postgresql:// URL or key=value string) within
  // `connect_timeout_s`. Throws DatabaseError (connection) with libpq's
  // message when it cannot. With `statement_timeout_ms` > 0 the server
  // cancels any statement that runs longer (an error like any other).
  Connection(const std::string& url, int connect_timeout_s, int statement_timeout_ms = 0);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One or more statements with no parameters (simple query protocol).
  void execute(std::string_view sql);
  Rows query(const std::string& sql, const Parameters& parameters);
  void prepare(const std::string& name, const std::string& sql);
  Rows run(const std::string& name, const Parameters& parameters);
  // Sends every statement in pipeline mode and waits for all results with
  // one synchronisation: one round trip for the lot. Returns each
  // statement's rows, in order. Throws on the first failed statement (the
  // rest are skipped by the server), or when a statement did not change the
  // rows it must change (conflict).
  std::vector<Rows> run_pipeline(const std::vector<PipelinedStatement>& statements);
  // Whether the connection to the server is lost.
  bool broken() const;
  // The socket, to wait for the server with poll().
  int socket() const;
  // Reads what the server sent without waiting and returns the payloads of
  // the notifications (NOTIFY) received, oldest first. Throws DatabaseError
  // (connection) when the connection is lost.
  std::vector<std::string> notifications();
  // Whether a transaction is open (or failed and not yet rolled back).
  bool in_transaction() const;

 private:
  Rows checked(pg_result* result, std::string_view what);
  pg_conn* connection_ = nullptr;
};

}  // namespace payd::ledger::postgres
