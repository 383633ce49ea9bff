#include "ledger/postgres/connection.h"

#include <libpq-fe.h>

#include <cassert>
#include <cstdlib>
#include <optional>

namespace payd::ledger::postgres {
namespace {

DatabaseError::Kind classify(const std::string& sqlstate) {
  if (sqlstate.empty() || sqlstate.starts_with("08") || sqlstate.starts_with("57P")) {
    return DatabaseError::Kind::connection;  // no SQLSTATE: libpq lost the socket
  }
  if (sqlstate == "23505" || sqlstate == "40P01" || sqlstate == "40001") return DatabaseError::Kind::conflict;
  if (sqlstate.starts_with("23") || sqlstate == "P0001") return DatabaseError::Kind::constraint;
  return DatabaseError::Kind::other;
}

std::string quoted_element(const std::string& value) {
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string without_final_newlines(std::string message) {
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return message;
}

}  // namespace

Parameters& Parameters::add(std::string_view text) {
  values_.emplace_back(text);
  nulls_.push_back(false);
  return *this;
}

Parameters& Parameters::add(std::int64_t value) { return add(std::to_string(value)); }

Parameters& Parameters::add_null() {
  values_.emplace_back();
  nulls_.push_back(true);
  return *this;
}

Parameters& Parameters::add_text_or_null(std::string_view text) { return text.empty() ? add_null() : add(text); }

std::vector<const char*> Parameters::pointers() const {
  std::vector<const char*> pointers;
  pointers.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) pointers.push_back(nulls_[i] ? nullptr : values_[i].c_str());
  return pointers;
}

std::string text_array(const std::vector<std::string>& values) {
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) literal += ',';
    literal += quoted_element(values[i]);
  }
  return literal + "}";
}

std::string integer_array(const std::vector<std::int64_t>& values) {
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) literal += ',';
    literal += std::to_string(values[i]);
  }
  return literal + "}";
}

void Rows::Free::operator()(pg_result* result) const { PQclear(result); }

Rows::Rows(pg_result* result) : result_(result) {}

int Rows::size() const { return PQntuples(result_.get()); }

std::string Rows::text(int row, int column) const {
  if (PQgetisnull(result_.get(), row, column)) return {};
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t Rows::integer(int row, int column) const {
  if (PQgetisnull(result_.get(), row, column)) return 0;
  return std::strtoll(PQgetvalue(result_.get(), row, column), nullptr, 10);
}

bool Rows::is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }

std::int64_t Rows::changed() const {
  const char* tuples = PQcmdTuples(result_.get());
  return tuples[0] == '\0' ? 0 : std::strtoll(tuples, nullptr, 10);
}

ConnectionSettings::ConnectionSettings(const std::string& url, int connect_timeout_s, int statement_timeout_ms)
    : url_(url),
      connect_timeout_s_(std::to_string(connect_timeout_s)),
      // Notices (such as "already exists, skipping") are not errors: keep
      // them off stderr.
      options_("-c client_min_messages=warning") {
  if (statement_timeout_ms > 0) options_ += " -c statement_timeout=" + std::to_string(statement_timeout_ms);
  // TCP keepalives notice a server that vanished without closing (a
  // network fault) within about 15 s on a connection that is only waiting;
  // set first, so the URL may say otherwise.
  keywords_ = {"keepalives_idle", "keepalives_interval", "keepalives_count", "dbname",
               "connect_timeout", "application_name",    "options",          nullptr};
  values_ = {"5", "2", "5", url_.c_str(), connect_timeout_s_.c_str(), "payd", options_.c_str(), nullptr};
}

std::string error_message(const pg_conn* connection) {
  return without_final_newlines(connection ? PQerrorMessage(connection) : "out of memory");
}

std::string error_message(const pg_result* result) { return without_final_newlines(PQresultErrorMessage(result)); }

Connection::Connection(const std::string& url, int connect_timeout_s, int statement_timeout_ms) {
  ConnectionSettings settings(url, connect_timeout_s, statement_timeout_ms);
  connection_ = PQconnectdbParams(settings.keywords(), settings.values(), 1);
  if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK) {
    std::string message = error_message(connection_);
    PQfinish(connection_);
    connection_ = nullptr;
    throw DatabaseError(DatabaseError::Kind::connection, {}, "cannot connect to PostgreSQL: " + message);
  }
}

Connection::~Connection() { PQfinish(connection_); }

bool Connection::broken() const { return PQstatus(connection_) != CONNECTION_OK; }

int Connection::socket() const { return PQsocket(connection_); }

std::vector<std::string> Connection::notifications() {
  if (PQconsumeInput(connection_) != 1) checked(nullptr, "reading notifications");
  std::vector<std::string> payloads;
  while (pgNotify* notification = PQnotifies(connection_)) {
    payloads.emplace_back(notification->extra);
    PQfreemem(notification);
  }
  return payloads;
}

bool Connection::in_transaction() const { return PQtransactionStatus(connection_) != PQTRANS_IDLE; }

Rows Connection::checked(pg_result* result, std::string_view what) {
  ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Rows(result);
  const char* field = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = field ? field : "";
  std::string message = result ? error_message(result) : error_message(connection_);
  PQclear(result);
  DatabaseError::Kind kind = broken() ? DatabaseError::Kind::connection : classify(sqlstate);
  throw DatabaseError(kind, sqlstate, std::string(what) + ": " + message);
}

void Connection::execute(std::string_view sql) { checked(PQexec(connection_, std::string(sql).c_str()), sql); }

Rows Connection::query(const std::string& sql, const Parameters& parameters) {
  std::vector<const char*> values = parameters.pointers();
  return checked(PQexecParams(connection_, sql.c_str(), parameters.size(), nullptr, values.data(), nullptr,
                              nullptr, 0),
                 sql);
}

void Connection::prepare(const std::string& name, const std::string& sql) {
  checked(PQprepare(connection_, name.c_str(), sql.c_str(), 0, nullptr), sql);
}

Rows Connection::run(const std::string& name, const Parameters& parameters) {
  std::vector<const char*> values = parameters.pointers();
  return checked(PQexecPrepared(connection_, name.c_str(), parameters.size(), values.data(), nullptr, nullptr, 0),
                 name);
}

bool send_pipeline(pg_conn* connection, const std::vector<PipelinedStatement>& statements) {
  for (const PipelinedStatement& statement : statements) {
    std::vector<const char*> values = statement.parameters.pointers();
    if (PQsendQueryPrepared(connection, statement.name.c_str(), statement.parameters.size(), values.data(), nullptr,
                            nullptr, 0) != 1) {
      return false;
    }
  }
  return PQpipelineSync(connection) == 1;
}

std::vector<Rows> Connection::run_pipeline(const std::vector<PipelinedStatement>& statements) {
  std::vector<Rows> results;
  if (statements.empty()) return results;
  results.reserve(statements.size());
  if (PQenterPipelineMode(connection_) != 1) checked(nullptr, "entering pipeline mode");
  if (!send_pipeline(connection_, statements)) checked(nullptr, "sending a pipeline");
  // Reads every result up to the synchronisation point, keeping the first
  // failure: the server skips the statements after a failed one, and the
  // connection is usable again only once the pipeline is drained.
  std::optional<DatabaseError> failure;
  std::size_t index = 0;
  for (;;) {
    pg_result* result = PQgetResult(connection_);
    if (result == nullptr) {
      if (broken()) checked(nullptr, "reading a pipeline");
      continue;  // the end of one statement's results
    }
    Rows rows(result);
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_PIPELINE_SYNC) break;
    const std::string& name = index < statements.size() ? statements[index].name : "pipeline";
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_PIPELINE_ABORTED && !failure) {
      const char* field = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      std::string sqlstate = field ? field : "";
      failure.emplace(classify(sqlstate), sqlstate, name + ": " + error_message(result));
    }
    results.push_back(std::move(rows));
    ++index;
  }
  PQexitPipelineMode(connection_);
  if (failure) throw *failure;
  assert(results.size() == statements.size());
  return results;
}

}  // namespace payd::ledger::postgres
