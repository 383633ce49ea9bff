// payctl: operator commands for payd's ledger.
//
//   payctl verify [--data-dir DIR | --ledger sqlite:PATH | --ledger postgresql://...]
//
// verify reads the ledger (read-only, beside a running payd) and checks the
// invariants of DESIGN.md: every account's balance equals the sum of its
// entries and its version their count, sequences have no gaps, each
// entry's balance_after is the running sum, the per-account index agrees
// with the entries, every journal transfer balances to zero per currency, each currency's balances sum to zero, and each
// account's held amount equals its open authorisation holds, and every
// cross-currency payment converted and settled at its recorded rate. It prints a
// report and exits 0 when all hold, 1 when any is violated, 2 when it could
// not check.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "core/currency.h"
#include "core/fx.h"

#include "ledger/postgres/connection.h"
#include "ledger/sqlite/database.h"

namespace payd::tools {
namespace {

using ledger::sqlite::Connection;
using ledger::sqlite::Statement;

struct Check {
  const char* name;
  const char* sql;  // selects one row per violation: a description (SQL both databases read alike)
  bool sqlite_only = false;
};

constexpr Check checks[] = {
    {"balance equals the sum of entries",
     "SELECT a.id || ' balance ' || a.balance || ' but entries sum to ' || coalesce(e.total, 0) FROM accounts a "
     "LEFT JOIN (SELECT account, sum(amount) AS total FROM entries GROUP BY account) e ON e.account = a.id "
     "WHERE a.balance <> coalesce(e.total, 0)"},
    {"version equals the number of entries, sequences without gaps",
     "SELECT a.id || ' version ' || a.version || ' but ' || coalesce(e.n, 0) || ' entries, last sequence ' || "
     "coalesce(e.last, 0) FROM accounts a LEFT JOIN (SELECT account, count(*) AS n, max(sequence) AS last FROM "
     "entries GROUP BY account) e ON e.account = a.id WHERE a.version <> coalesce(e.n, 0) OR a.version <> "
     "coalesce(e.last, 0)"},
    {"balance_after is the running sum",
     "SELECT account || ' sequence ' || sequence || ' balance_after ' || balance_after || ' but running sum ' || "
     "running FROM (SELECT account, sequence, balance_after, sum(amount) OVER (PARTITION BY account ORDER BY "
     "sequence) AS running FROM entries) AS running_sums WHERE running <> balance_after"},
    {"every journal transfer balances to zero per currency",
     "SELECT transfer || ' ' || currency || ' sums to ' || sum(amount) FROM entries GROUP BY transfer, currency "
     "HAVING sum(amount) <> 0"},
    {"the per-account index matches the entries",
     "SELECT 'index row ' || i.account || ' sequence ' || i.sequence || ' points at entry ' || i.number FROM "
     "entries_by_account i LEFT JOIN entries e ON e.number = i.number WHERE e.number IS NULL OR e.account <> "
     "i.account OR e.sequence <> i.sequence UNION ALL SELECT 'entry ' || e.number || ' is not in the index' FROM "
     "entries e WHERE e.number <= (SELECT value FROM ledger_state WHERE name = 'entries_indexed_through') AND NOT "
     "EXISTS (SELECT 1 FROM entries_by_account i WHERE i.account = e.account AND i.sequence = e.sequence)",
     true},
    {"entries use their account's currency",
     "SELECT e.account || ' sequence ' || e.sequence || ' in ' || e.currency || ' on a ' || a.currency || "
     "' account' FROM entries e JOIN accounts a ON a.id = e.account WHERE e.currency <> a.currency"},
    {"balances sum to zero per currency",
     "SELECT currency || ' sums to ' || sum(balance) FROM accounts GROUP BY currency HAVING sum(balance) <> 0"},
    {"held equals open authorisation holds",
     "SELECT a.id || ' held ' || a.held || ' but open holds sum to ' || coalesce(h.total, 0) FROM accounts a LEFT "
     "JOIN (SELECT source_id, sum(held) AS total FROM payments WHERE source_type = 'account' AND status = "
     "'authorized' GROUP BY source_id) h ON h.source_id = a.id WHERE a.held <> coalesce(h.total, 0)"},
    {"holds only on authorised payments",
     "SELECT id || ' is ' || status || ' with a hold of ' || held FROM payments WHERE held <> 0 AND status <> "
     "'authorized'"},
    {"captured payments are posted",
     "SELECT p.id || ' captured ' || p.amount_captured || ' but posted ' || coalesce(e.debit, 0) FROM payments p "
     "LEFT JOIN (SELECT transfer, currency, -sum(amount) AS debit FROM entries WHERE amount < 0 GROUP BY transfer, "
     "currency) e ON e.transfer = p.id AND e.currency = p.currency WHERE p.amount_captured <> coalesce(e.debit, 0)"},
};

// Cross-currency payments, one line each for settlement_violations():
// id currency amount amount_captured mantissa scale settlement_currency
// settlement_amount settled, where settled is what the payment's journal
// credited in the settlement currency (merchant net of fee plus fee).
constexpr const char* fx_payments_sql =
    "SELECT p.id || ' ' || p.currency || ' ' || p.amount || ' ' || p.amount_captured || ' ' || p.fx_rate_mantissa "
    "|| ' ' || p.fx_rate_scale || ' ' || p.fx_settlement_currency || ' ' || p.fx_settlement_amount || ' ' || "
    "coalesce((SELECT sum(e.amount) FROM entries e WHERE e.transfer = p.id AND "
    "e.currency = p.fx_settlement_currency AND e.amount > 0), 0) FROM payments p WHERE p.fx_rate IS NOT NULL";

// A description of each cross-currency payment whose recorded settlement
// amount or posted settlement is not its amount converted at its own rate.
std::vector<std::string> settlement_violations(const std::vector<std::string>& lines) {
  std::vector<std::string> found;
  for (const std::string& line : lines) {
    std::istringstream in(line);
    std::string id, currency, settlement_currency;
    Minor amount = 0, captured = 0, recorded = 0, settled = 0;
    std::int64_t mantissa = 0;
    int scale = 0;
    in >> id >> currency >> amount >> captured >> mantissa >> scale >> settlement_currency >> recorded >> settled;
    const Currency* from = find_currency(currency);
    const Currency* to = find_currency(settlement_currency);
    bool readable = in && from && to && mantissa > 0 && mantissa <= rate_mantissa_max && scale >= 0 &&
                    scale <= rate_scale_max && amount >= captured && captured >= 0;
    if (!readable) {
      found.push_back(id + " has an unreadable fx record: " + line);
      continue;
    }
    Rate rate{mantissa, scale};
    std::optional<Minor> expected = convert_minor(amount, from->minor_units, to->minor_units, rate);
    if (expected != recorded) {
      found.push_back(id + " records settlement_amount " + std::to_string(recorded) + " but " + std::to_string(amount) +
                      " " + currency + " at " + format_rate(rate) + " is " + std::to_string(expected.value_or(-1)));
    }
    std::optional<Minor> expected_settled = convert_minor(captured, from->minor_units, to->minor_units, rate);
    if (expected_settled != settled) {
      found.push_back(id + " settled " + std::to_string(settled) + " " + settlement_currency + " for " +
                      std::to_string(captured) + " captured, expected " + std::to_string(expected_settled.value_or(-1)));
    }
  }
  return found;
}

// Runs a query of the checks and returns its rows' first column. One
// implementation per database; both read inside one snapshot.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual bool is_sqlite() const = 0;
  virtual std::vector<std::string> column(const char* sql) = 0;
};

class SqliteReader final : public Reader {
 public:
  explicit SqliteReader(const std::string& path) : connection_(path, true) { connection_.execute("BEGIN"); }
  bool is_sqlite() const override { return true; }
  std::vector<std::string> column(const char* sql) override {
    Statement select(connection_, sql);
    std::vector<std::string> values;
    while (select.step()) values.push_back(select.text(0));
    return values;
  }

 private:
  Connection connection_;
};

class PostgresReader final : public Reader {
 public:
  explicit PostgresReader(const std::string& url) : connection_(url, 5) {
    connection_.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  bool is_sqlite() const override { return false; }
  std::vector<std::string> column(const char* sql) override {
    ledger::postgres::Rows rows = connection_.query(sql, ledger::postgres::Parameters());
    std::vector<std::string> values;
    for (int row = 0; row < rows.size(); ++row) values.push_back(rows.text(row, 0));
    return values;
  }

 private:
  ledger::postgres::Connection connection_;
};

int verify(Reader& reader) {
  int violations = 0;
  for (const Check& check : checks) {
    if (check.sqlite_only && !reader.is_sqlite()) continue;
    std::vector<std::string> found = reader.column(check.sql);
    for (std::size_t i = 0; i < found.size() && i < 20; ++i) {
      std::printf("  VIOLATION %s: %s\n", check.name, found[i].c_str());
    }
    std::printf("%-62s %s\n", check.name,
                found.empty() ? "ok" : ("FAILED (" + std::to_string(found.size()) + ")").c_str());
    violations += static_cast<int>(found.size());
  }
  std::vector<std::string> found = settlement_violations(reader.column(fx_payments_sql));
  for (std::size_t i = 0; i < found.size() && i < 20; ++i) {
    std::printf("  VIOLATION cross-currency payments settle at their rate: %s\n", found[i].c_str());
  }
  std::printf("%-62s %s\n", "cross-currency payments settle at their rate",
              found.empty() ? "ok" : ("FAILED (" + std::to_string(found.size()) + ")").c_str());
  violations += static_cast<int>(found.size());
  std::vector<std::string> counts = reader.column(
      "SELECT (SELECT count(*) FROM accounts) || ' accounts, ' || (SELECT count(*) FROM entries) || ' entries, ' || "
      "(SELECT count(*) FROM payments) || ' payments'");
  std::printf("checked %s: %s\n", counts.empty() ? "?" : counts.front().c_str(),
              violations == 0 ? "consistent" : "INCONSISTENT");
  return violations == 0 ? 0 : 1;
}

int verify_ledger(const std::string& ledger, const std::string& data_dir) {
  try {
    if (ledger.rfind("postgresql://", 0) == 0 || ledger.rfind("postgres://", 0) == 0) {
      PostgresReader reader(ledger);
      return verify(reader);
    }
    std::string path = ledger.empty() ? (std::filesystem::path(data_dir) / "ledger.db").string() : ledger.substr(7);
    if (!ledger.empty() && ledger.rfind("sqlite:", 0) != 0) {
      std::fprintf(stderr, "payctl: unsupported ledger URL %s\n", ledger.c_str());
      return 2;
    }
    if (!std::filesystem::exists(path)) {
      std::fprintf(stderr, "payctl: no ledger at %s\n", path.c_str());
      return 2;
    }
    SqliteReader reader(path);
    return verify(reader);
  } catch (const ledger::sqlite::DatabaseError& error) {
    std::fprintf(stderr, "payctl: cannot read the ledger: %s\n", error.what());
  } catch (const ledger::postgres::DatabaseError& error) {
    std::fprintf(stderr, "payctl: cannot read the ledger: %s\n", error.what());
  }
  return 2;
}

}  // namespace
}  // namespace payd::tools

int main(int argc, char** argv) {
  CLI::App app{"payctl: operator commands for payd"};
  app.require_subcommand(1);
  std::string data_dir = "./data";
  std::string ledger;
  CLI::App* verify = app.add_subcommand("verify", "Check the ledger's invariants; exit 1 on any violation");
  verify->add_option("--data-dir", data_dir, "payd's data folder")->capture_default_str()->envname("PAYD_DATA_DIR");
  verify->add_option("--ledger", ledger, "sqlite:PATH or postgresql://... (overrides --data-dir)")
      ->envname("PAYD_LEDGER_URL");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  return payd::tools::verify_ledger(ledger, data_dir);
}
