// WriteStore: what the command executor needs from a storage backend.
//
// The executor (executor.h) holds the rules of every command and is the
// same for every backend; a WriteStore gives it the rows inside one batch
// transaction. Accounts are handed out as mutable in-memory records: the
// executor changes balance, held and version on them, and the store writes
// each changed account once when the batch is flushed, so a hot account is
// written once per batch. Other writes may go to the database at once or be
// staged until flush(); either way nothing is visible to readers before
// commit.
//
// Used only from the writer thread. Methods throw on database failure; the
// writer then rolls the batch back and calls discard_cached_state().
#pragma once

#include <optional>
#include <string>

#include "domain/model.h"

namespace payd::ledger {

struct StoredKey {
  enum class State { started, completed };
  std::string key;
  std::string fingerprint;
  State state = State::completed;
  unsigned status = 0;       // when completed
  std::string body;          // when completed
  std::string payment;       // card payment the key started, when any
  std::int64_t created_at_ms = 0;
};

class WriteStore {
 public:
  virtual ~WriteStore() = default;

  // nullptr when no such account. The pointer stays valid for the batch.
  virtual Account* find_account(const std::string& id) = 0;
  // The built-in account of `role` for `currency`, made on first use.
  virtual Account& system_account(const std::string& currency, SystemRole role) = 0;
  virtual Account& insert_account(const Account& account) = 0;
  // Marks an account changed (balance, held or version) in this batch.
  virtual void touch(Account& account) = 0;

  virtual std::optional<StoredKey> find_key(const std::string& key) = 0;
  // Inserts, or replaces a started key by its completion.
  virtual void put_key(const StoredKey& key) = 0;

  // Appends an entry; the store gives it its number and id (entry.id is
  // ignored).
  virtual void insert_entry(const Entry& entry) = 0;
  virtual void insert_transfer(const Transfer& transfer) = 0;
  virtual void insert_deposit(const Deposit& deposit) = 0;

  virtual std::optional<Merchant> find_merchant(const std::string& id) = 0;
  virtual void put_merchant(const Merchant& merchant) = 0;  // insert or update

  virtual std::optional<PaymentMethod> find_payment_method(const std::string& id) = 0;
  virtual void insert_payment_method(const PaymentMethod& method) = 0;

  virtual std::optional<Payment> find_payment(const std::string& id) = 0;
  virtual void put_payment(const Payment& payment) = 0;  // insert or update
  virtual void insert_refund(const Refund& refund) = 0;

  // Stores `rate` as the pair's current rate with the next version (1 for
  // a new pair), in one statement that also locks the pair's row until
  // commit, so concurrent writers (other nodes) never hand out one version
  // twice. Returns the stored row.
  virtual FxRate put_fx_rate(const std::string& base, const std::string& quote, const Rate& rate,
                             std::int64_t now_ms) = 0;
};

}  // namespace payd::ledger
