#include "ledger/sqlite/database.h"

#include <sqlite3.h>

#include "ledger/sqlite/page_cache.h"

namespace payd::ledger::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, int code, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  throw DatabaseError(code, message);
}

}  // namespace

bool DatabaseError::is_constraint() const { return (code_ & 0xff) == SQLITE_CONSTRAINT; }

Connection::Connection(const std::string& path, bool read_only, const char* vfs) {
  install_page_cache();  // before SQLite's first use; if it is too late, SQLite's own cache
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int code = sqlite3_open_v2(path.c_str(), &db_, flags, vfs);
  if (code != SQLITE_OK) {
    std::string message = "cannot open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(code));
    sqlite3_close(db_);
    db_ = nullptr;
    throw DatabaseError(code, message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
}

Connection::~Connection() {
  prepared_.clear();  // finalized before the connection closes
  sqlite3_close_v2(db_);
}

Statement& Connection::prepared(const std::string& sql) {
  auto [it, inserted] = prepared_.try_emplace(sql);
  if (inserted) {
    try {
      it->second = std::make_unique<Statement>(*this, sql);
    } catch (...) {
      prepared_.erase(it);
      throw;
    }
  }
  return *it->second;
}

void Connection::execute(std::string_view sql) {
  std::string text(sql);
  char* error = nullptr;
  int code = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (code != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(code);
    sqlite3_free(error);
    throw DatabaseError(code, message);
  }
}

Connection::CheckpointResult Connection::checkpoint(bool restart) {
  CheckpointResult result;
  int code = sqlite3_wal_checkpoint_v2(db_, "main", restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE,
                                       &result.wal_frames, &result.checkpointed_frames);
  if (code != SQLITE_OK && code != SQLITE_BUSY) fail(db_, code, "checkpoint");
  return result;
}

std::int64_t Connection::changes() const { return sqlite3_changes64(db_); }

Statement::Statement(Connection& connection, std::string_view sql) : connection_(connection) {
  int code = sqlite3_prepare_v3(connection.handle(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &statement_, nullptr);
  if (code != SQLITE_OK) fail(connection.handle(), code, "prepare");
}

Statement::~Statement() { sqlite3_finalize(statement_); }

Statement& Statement::bind(int position, std::int64_t value) {
  int code = sqlite3_bind_int64(statement_, position, value);
  if (code != SQLITE_OK) fail(connection_.handle(), code, "bind");
  return *this;
}

Statement& Statement::bind(int position, std::string_view text) {
  int code = sqlite3_bind_text(statement_, position, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  if (code != SQLITE_OK) fail(connection_.handle(), code, "bind");
  return *this;
}

Statement& Statement::bind_null(int position) {
  int code = sqlite3_bind_null(statement_, position);
  if (code != SQLITE_OK) fail(connection_.handle(), code, "bind");
  return *this;
}

Statement& Statement::bind_text_or_null(int position, std::string_view text) {
  return text.empty() ? bind_null(position) : bind(position, text);
}

bool Statement::step() {
  int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return true;
  if (code == SQLITE_DONE) return false;
  reset();
  fail(connection_.handle(), code, "step");
}

void Statement::run() {
  ResetOnExit reset_on_exit(*this);
  step();
}

void Statement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(statement_, column); }

std::string Statement::text(int column) const {
  const unsigned char* value = sqlite3_column_text(statement_, column);
  if (!value) return {};
  return std::string(reinterpret_cast<const char*>(value), static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
}

bool Statement::is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

}  // namespace payd::ledger::sqlite
