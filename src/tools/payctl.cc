// payctl: operator commands for payd's ledger.
//
//   payctl verify [--data-dir DIR | --ledger sqlite:PATH]
//
// verify reads the ledger (read-only, beside a running payd) and checks the
// invariants of DESIGN.md: every account's balance equals the sum of its
// entries and its version their count, sequences have no gaps, each
// entry's balance_after is the running sum, the per-account index agrees
// with the entries, every journal transfer balances to zero per currency, each currency's balances sum to zero, and each
// account's held amount equals its open authorisation holds. It prints a
// report and exits 0 when all hold, 1 when any is violated, 2 when it could
// not check.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include "ledger/sqlite/database.h"

namespace payd::tools {
namespace {

using ledger::sqlite::Connection;
using ledger::sqlite::Statement;

struct Check {
  const char* name;
  const char* sql;  // selects one row per violation: a description
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
     "sequence) AS running FROM entries) WHERE running <> balance_after"},
    {"every journal transfer balances to zero per currency",
     "SELECT transfer || ' ' || currency || ' sums to ' || sum(amount) FROM entries GROUP BY transfer, currency "
     "HAVING sum(amount) <> 0"},
    {"the per-account index matches the entries",
     "SELECT 'index row ' || i.account || ' sequence ' || i.sequence || ' points at entry ' || i.number FROM "
     "entries_by_account i LEFT JOIN entries e ON e.number = i.number WHERE e.number IS NULL OR e.account <> "
     "i.account OR e.sequence <> i.sequence UNION ALL SELECT 'entry ' || e.number || ' is not in the index' FROM "
     "entries e WHERE e.number <= (SELECT value FROM ledger_state WHERE name = 'entries_indexed_through') AND NOT "
     "EXISTS (SELECT 1 FROM entries_by_account i WHERE i.account = e.account AND i.sequence = e.sequence)"},
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
     "LEFT JOIN (SELECT transfer, -sum(amount) AS debit FROM entries WHERE amount < 0 GROUP BY transfer) e ON "
     "e.transfer = p.id WHERE p.amount_captured <> coalesce(e.debit, 0)"},
};

int verify(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "payctl: no ledger at %s\n", path.c_str());
    return 2;
  }
  try {
    Connection connection(path, true);
    connection.execute("BEGIN");  // one snapshot for every check
    int violations = 0;
    for (const Check& check : checks) {
      Statement select(connection, check.sql);
      int found = 0;
      while (select.step()) {
        if (found < 20) std::printf("  VIOLATION %s: %s\n", check.name, select.text(0).c_str());
        ++found;
      }
      std::printf("%-62s %s\n", check.name, found == 0 ? "ok" : ("FAILED (" + std::to_string(found) + ")").c_str());
      violations += found;
    }
    Statement counts(connection, "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM entries), "
                                 "(SELECT count(*) FROM payments)");
    counts.step();
    std::printf("checked %lld accounts, %lld entries, %lld payments: %s\n",
                static_cast<long long>(counts.integer(0)), static_cast<long long>(counts.integer(1)),
                static_cast<long long>(counts.integer(2)), violations == 0 ? "consistent" : "INCONSISTENT");
    return violations == 0 ? 0 : 1;
  } catch (const ledger::sqlite::DatabaseError& error) {
    std::fprintf(stderr, "payctl: cannot read the ledger: %s\n", error.what());
    return 2;
  }
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
  verify->add_option("--ledger", ledger, "sqlite:PATH (overrides --data-dir)")->envname("PAYD_LEDGER_URL");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  std::string path = (std::filesystem::path(data_dir) / "ledger.db").string();
  if (!ledger.empty()) {
    if (ledger.rfind("sqlite:", 0) != 0) {
      std::fprintf(stderr, "payctl: only sqlite: ledgers are supported by this build\n");
      return 2;
    }
    path = ledger.substr(7);
  }
  return payd::tools::verify(path);
}
