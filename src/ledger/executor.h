// Executor: the rules of every ledger command, for any storage backend.
//
// The writer calls execute() for each submission of a batch, inside the
// batch's transaction. The executor checks the idempotency key, decides the
// command against current state (every refusal is decided before anything
// is written, so a refused command never leaves a partial write and never
// fails its batch neighbours), applies it through the WriteStore, and stores
// the outcome under the key when API.md says it is stored.
//
// Not thread-safe: the writer thread only. Throws only what the store
// throws (database failures); the writer handles those.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "ledger/ledger.h"
#include "ledger/store.h"

namespace payd::ledger {

class Executor {
 public:
  Executor(WriteStore& store, IdGenerator& ids, Clock& clock) : store_(store), ids_(ids), clock_(clock) {}

  Outcome execute(const Submission& submission);

 private:
  struct Leg {
    Account* account;
    Minor amount;  // signed
  };
  // What a command decided: a reply, or the started card payment.
  struct Decision {
    Reply reply;
    std::string started_payment;  // BeginCardPayment only
    std::string problem_code;     // when the reply is a problem
  };

  Decision run(const Submission& submission);
  Decision run(const CreateAccount& command, const Submission& submission);
  Decision run(const MakeDeposit& command, const Submission& submission);
  Decision run(const MakeTransfer& command, const Submission& submission);
  Decision run(const CreateMerchant& command, const Submission& submission);
  Decision run(const UpdateMerchant& command, const Submission& submission);
  Decision run(const CreatePaymentMethod& command, const Submission& submission);
  Decision run(const WalletPayment& command, const Submission& submission);
  Decision run(const BeginCardPayment& command, const Submission& submission);
  Decision run(const FinishCardPayment& command, const Submission& submission);
  Decision run(const CapturePayment& command, const Submission& submission);
  Decision run(const VoidPayment& command, const Submission& submission);
  Decision run(const RefundPayment& command, const Submission& submission);
  Decision run(const SetFxRate& command, const Submission& submission);

  // A problem reply, rendered with the submission's request id.
  Decision refuse(const Submission& submission, Problem problem);
  // A 402 for a payment recorded as failed with `code`.
  Decision fail_payment(const Submission& submission, Payment& payment, const std::string& code, std::string detail);

  // Checks that every leg can be applied without overflow; a Problem names
  // `param` otherwise. Nothing is changed.
  Status check_postable(const std::vector<Leg>& legs, const char* param);
  // Applies the legs as entries of journal transfer `journal`, in order.
  // Precondition: check_postable() passed and debits equal credits in each
  // currency.
  void post(const std::string& journal, const std::vector<Leg>& legs, std::int64_t now_ms);
  // Legs of capturing `amount` of `payment` from `source`: source debited,
  // merchant credited `settled` net of `fee`, fee to the fees account of the
  // settlement currency. A cross-currency payment passes through the fx
  // accounts: the payment currency's is credited `amount`, the settlement
  // currency's debited `settled`. Zero legs are left out.
  std::vector<Leg> capture_legs(Account& source, const Merchant& merchant, const Payment& payment, Minor amount,
                                Minor settled, Minor fee);
  // Captures `amount` of `payment` from `source`: fee, legs, overflow
  // check; posts them and records the capture on `payment`. A Problem
  // (overflow) when it cannot, with nothing changed.
  Status capture(Payment& payment, Account& source, const Merchant& merchant, Minor amount, std::int64_t now_ms);

  // A payment as a wallet or card command describes it, before any decision.
  template <typename PaymentCommand>
  Payment new_payment(const PaymentCommand& command, const Merchant& merchant, SourceType source_type,
                      const std::string& source_id, const std::string& gateway, std::optional<PaymentFx> fx,
                      const Submission& submission);
  // The refusals every payment shares: an inactive merchant, an amount
  // over the merchant's maximum. Records the payment failed when refused.
  std::optional<Decision> refuse_by_merchant(const Submission& submission, Payment& payment,
                                             const Merchant& merchant);
  Result<Merchant> merchant_for_payment(const std::string& id);
  // How a payment of `amount` in `currency` to `merchant` converts: nullopt
  // in the settlement currency; a Problem when there is no rate for the
  // pair or the converted amount is out of range.
  Result<std::optional<PaymentFx>> payment_fx(Minor amount, const std::string& currency, const Merchant& merchant,
                                              const std::optional<FxRate>& rate);
  void complete_started_key(const Payment& payment, const Reply& reply);

  WriteStore& store_;
  IdGenerator& ids_;
  Clock& clock_;
};

}  // namespace payd::ledger
