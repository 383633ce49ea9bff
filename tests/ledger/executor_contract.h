// The ledger's command rules, the same for every storage backend.
//
// The scenarios run the unchanged Executor against a backend's WriteStore,
// one batch per transaction as the writer runs them. Each backend's test
// file implements ExecutorBackend and instantiates the suite with it
// (INSTANTIATE_TEST_SUITE_P), so a behaviour difference between SQLite and
// PostgreSQL is a failing test.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace payd::ledger {

class ExecutorBackend {
 public:
  virtual ~ExecutorBackend() = default;
  // Executes the submissions in one transaction and commits it.
  virtual std::vector<Outcome> batch(std::vector<Submission> submissions) = 0;
  // The committed state of an account (failing the test when unknown).
  virtual Account account(const std::string& id) = 0;
  // The account's newest entry.
  virtual Entry last_entry(const std::string& account) = 0;
  // Runs SQL behind the ledger's back; true when the database refused it.
  virtual bool write_is_refused(const std::string& sql) = 0;
};

using ExecutorBackendFactory = std::function<std::unique_ptr<ExecutorBackend>()>;

class ExecutorContract : public ::testing::TestWithParam<ExecutorBackendFactory> {
 protected:
  void SetUp() override { backend_ = GetParam()(); }
  ExecutorBackend& backend() { return *backend_; }

  std::vector<Outcome> batch(std::vector<Submission> submissions) { return backend_->batch(std::move(submissions)); }
  Outcome one(Command command, std::optional<IdempotencyTag> tag = std::nullopt);
  std::string new_account(const std::string& currency = "USD", Minor overdraft = 0);
  Account account(const std::string& id) { return backend_->account(id); }
  static Submission transfer(const std::string& from, const std::string& to, Minor amount, std::string key = {});

 private:
  std::unique_ptr<ExecutorBackend> backend_;
};

}  // namespace payd::ledger
