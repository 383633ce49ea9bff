// Routes for accounts, deposits, transfers, merchants and payment methods.
#include <openssl/hmac.h>

#include "api/api.h"
#include "api/body.h"
#include "core/card.h"
#include "core/currency.h"

namespace payd::api {
namespace {

constexpr std::int64_t overdraft_limit_max = amount_max;

Result<ledger::MerchantFields> merchant_fields(const Fields& fields, bool creating) {
  ledger::MerchantFields out;
  if (Status known = fields.only({"name", "settlement_currency", "max_amount", "fee_bps", "fee_fixed", "mcc",
                                  "processor", "active"});
      !known.ok()) {
    return known.take_problem();
  }
  if (creating) {
    Result<std::string> name = fields.required_string("name", 200);
    if (!name.ok()) return name.take_problem();
    out.name = name.value();
  } else {
    Result<std::optional<std::string>> name = fields.optional_string("name", 200);
    if (!name.ok()) return name.take_problem();
    out.name = name.value();
  }
  if (creating || fields.find("settlement_currency")) {
    Result<std::string> currency = fields.currency("settlement_currency");
    if (!currency.ok()) return currency.take_problem();
    out.settlement_currency = currency.value();
  }
  if (creating) {
    Result<Minor> max_amount = fields.amount("max_amount");
    if (!max_amount.ok()) return max_amount.take_problem();
    out.max_amount = max_amount.value();
  } else {
    Result<std::optional<Minor>> max_amount = fields.optional_amount("max_amount");
    if (!max_amount.ok()) return max_amount.take_problem();
    out.max_amount = max_amount.value();
  }
  Result<std::optional<std::int64_t>> fee_bps = fields.optional_integer("fee_bps", 0, fee_bps_max);
  if (!fee_bps.ok()) return fee_bps.take_problem();
  out.fee_bps = fee_bps.value();
  Result<std::optional<std::int64_t>> fee_fixed = fields.optional_integer("fee_fixed", 0, amount_max);
  if (!fee_fixed.ok()) return fee_fixed.take_problem();
  out.fee_fixed = fee_fixed.value();
  Result<std::optional<std::string>> mcc = fields.optional_string("mcc", 4);
  if (!mcc.ok()) return mcc.take_problem();
  if (mcc.value() && (mcc.value()->size() != 4 || mcc.value()->find_first_not_of("0123456789") != std::string::npos)) {
    return invalid_request("mcc must be 4 digits", "mcc");
  }
  out.mcc = mcc.value();
  Result<std::optional<std::string>> processor = fields.optional_string("processor", 64);
  if (!processor.ok()) return processor.take_problem();
  if (processor.value() && *processor.value() != "simulated") {
    return invalid_request("unknown gateway " + *processor.value(), "processor");
  }
  out.processor = processor.value();
  Result<std::optional<bool>> active = fields.optional_bool("active");
  if (!active.ok()) return active.take_problem();
  out.active = active.value();
  return out;
}

std::string card_fingerprint(const std::string& secret, const std::string& number) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(number.data()), number.size(), digest, &length);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8 && i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace

void Api::create_account(Call call) {
  submit(std::move(call), false, at_once([](const Prepared& prepared) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({"currency", "type", "overdraft_limit", "metadata"}); !known.ok()) {
      return known.take_problem();
    }
    Result<std::string> currency = fields.currency("currency");
    if (!currency.ok()) return currency.take_problem();
    Result<std::optional<std::string>> type_text = fields.optional_string("type", 16);
    if (!type_text.ok()) return type_text.take_problem();
    std::optional<AccountType> type = parse_account_type(type_text.value().value_or("customer"));
    if (!type) return invalid_request("type must be customer, merchant or internal", "type");
    Result<std::optional<std::int64_t>> overdraft = fields.optional_integer("overdraft_limit", 0, overdraft_limit_max);
    if (!overdraft.ok()) return overdraft.take_problem();
    Result<std::string> metadata = fields.metadata();
    if (!metadata.ok()) return metadata.take_problem();
    return ledger::Command(ledger::CreateAccount{currency.value(), *type, overdraft.value().value_or(0), metadata.value()});
  }));
}

void Api::get_account(Call call) {
  std::string id = call.params[0];
  deps_.ledger.account_async(id, reply_when_read<Account>(std::move(call)));
}

void Api::list_entries(Call call) {
  Result<ledger::Page> page = page_from_query(call.request.query, nullptr);
  if (!page.ok()) return reply_problem(call, page.problem());
  std::string account = call.params[0];
  deps_.ledger.entries_async(account, page.value(), reply_when_read<ledger::List<Entry>>(std::move(call)));
}

void Api::create_deposit(Call call) {
  submit(std::move(call), true, at_once([](const Prepared& prepared) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({"account", "amount", "currency", "metadata"}); !known.ok()) {
      return known.take_problem();
    }
    Result<std::string> account = fields.id("account", "acct_");
    if (!account.ok()) return account.take_problem();
    Result<Minor> amount = fields.amount("amount");
    if (!amount.ok()) return amount.take_problem();
    Result<std::string> currency = fields.currency("currency");
    if (!currency.ok()) return currency.take_problem();
    Result<std::string> metadata = fields.metadata();
    if (!metadata.ok()) return metadata.take_problem();
    return ledger::Command(ledger::MakeDeposit{account.value(), amount.value(), currency.value(), metadata.value()});
  }));
}

void Api::create_transfer(Call call) {
  submit(std::move(call), true, at_once([](const Prepared& prepared) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({"from", "to", "amount", "currency", "description", "metadata"}); !known.ok()) {
      return known.take_problem();
    }
    Result<std::string> from = fields.id("from", "acct_");
    if (!from.ok()) return from.take_problem();
    Result<std::string> to = fields.id("to", "acct_");
    if (!to.ok()) return to.take_problem();
    Result<Minor> amount = fields.amount("amount");
    if (!amount.ok()) return amount.take_problem();
    Result<std::string> currency = fields.currency("currency");
    if (!currency.ok()) return currency.take_problem();
    Result<std::optional<std::string>> description = fields.optional_string("description");
    if (!description.ok()) return description.take_problem();
    Result<std::string> metadata = fields.metadata();
    if (!metadata.ok()) return metadata.take_problem();
    if (from.value() == to.value()) return invalid_request("from and to must be different accounts", "to");
    return ledger::Command(ledger::MakeTransfer{from.value(), to.value(), amount.value(), currency.value(),
                                                description.value().value_or(""), metadata.value()});
  }));
}

void Api::get_transfer(Call call) {
  std::string id = call.params[0];
  deps_.ledger.transfer_async(id, reply_when_read<Transfer>(std::move(call)));
}

void Api::create_merchant(Call call) {
  submit(std::move(call), false, at_once([](const Prepared& prepared) -> Result<ledger::Command> {
    Result<ledger::MerchantFields> fields = merchant_fields(Fields(prepared.object()), true);
    if (!fields.ok()) return fields.take_problem();
    return ledger::Command(ledger::CreateMerchant{std::move(fields.value())});
  }));
}

void Api::update_merchant(Call call) {
  std::string id = call.params[0];
  auto build = [id](const Prepared& prepared) -> Result<ledger::Command> {
    Result<ledger::MerchantFields> fields = merchant_fields(Fields(prepared.object()), false);
    if (!fields.ok()) return fields.take_problem();
    return ledger::Command(ledger::UpdateMerchant{id, std::move(fields.value())});
  };
  // Cached copies go before the answer does, so every later request on
  // every node sees the change.
  auto next = [this, id](const ledger::Outcome& outcome, Finish finish) {
    if (outcome.reply.status != 200) return finish(outcome);
    deps_.reference_cache.invalidate(merchant_cache_key(id), [finish, outcome] { finish(outcome); });
  };
  submit(std::move(call), false, at_once(build), next);
}

void Api::get_merchant(Call call) {
  std::string id = call.params[0];
  merchant_json(id, reply_text_when_read(std::move(call)));
}

template <typename T>
void Api::read_through_cache(const std::string& key, std::int64_t ttl_ms,
                             std::function<void(ledger::Ledger::ReadDone<T>)> read,
                             ledger::Ledger::ReadDone<std::string> done) {
  auto load = [read = std::move(read)](cache::CacheAside::Done loaded) {
    read([loaded = std::move(loaded)](Result<T> found) {
      if (!found.ok()) return loaded(found.take_problem());
      loaded(render(found.value()));
    });
  };
  deps_.reference_cache.get_async(key, ttl_ms, load, std::move(done));
}

void Api::merchant_json(const std::string& id, ledger::Ledger::ReadDone<std::string> done) {
  read_through_cache<Merchant>(
      merchant_cache_key(id), merchant_cache_ttl_ms,
      [this, id](ledger::Ledger::ReadDone<Merchant> read) { deps_.ledger.merchant_async(id, std::move(read)); },
      std::move(done));
}

void Api::create_payment_method(Call call) {
  std::string secret = options_.card_fingerprint_key;
  submit(std::move(call), false, at_once([this, secret](const Prepared& prepared) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({"type", "card", "customer"}); !known.ok()) return known.take_problem();
    Result<std::string> type = fields.required_string("type", 16);
    if (!type.ok()) return type.take_problem();
    if (type.value() != "card") return invalid_request("type must be card", "type");
    const boost::json::value* card_value = fields.find("card");
    if (!card_value || !card_value->is_object()) return invalid_request("card is required", "card");
    Fields card(card_value->get_object());
    if (Status known = card.only({"number", "exp_month", "exp_year", "cvc"}); !known.ok()) {
      return invalid_request("unknown field in card", "card." + known.problem().param);
    }
    Result<std::string> number = card.required_string("number", 19);
    if (!number.ok() || !is_valid_card_number(number.value())) {
      return invalid_request("card.number must be 12 to 19 digits that pass the Luhn check", "card.number");
    }
    Result<std::int64_t> month = card.integer("exp_month", 1, 12);
    if (!month.ok()) return invalid_request("card.exp_month must be 1 to 12", "card.exp_month");
    Result<std::int64_t> year = card.integer("exp_year", 2000, 2100);
    if (!year.ok()) return invalid_request("card.exp_year must be a four-digit year", "card.exp_year");
    Result<std::optional<std::string>> customer = fields.optional_id("customer", "acct_");
    if (!customer.ok()) return customer.take_problem();
    PaymentMethod method;
    method.brand = std::string(card_brand(number.value()));
    method.bin = number.value().substr(0, 6);
    method.last4 = number.value().substr(number.value().size() - 4);
    method.exp_month = static_cast<int>(month.value());
    method.exp_year = static_cast<int>(year.value());
    method.fingerprint = card_fingerprint(secret, number.value());
    method.customer = customer.value().value_or("");
    if (std::optional<reference::BinRange> range = deps_.bins.lookup(number.value())) {
      method.country = range->country;
      method.card_type = range->type;
    }
    return ledger::Command(ledger::CreatePaymentMethod{std::move(method)});
  }));
}

void Api::payment_method_json(const std::string& id, ledger::Ledger::ReadDone<std::string> done) {
  read_through_cache<PaymentMethod>(
      payment_method_cache_key(id), payment_method_cache_ttl_ms,
      [this, id](ledger::Ledger::ReadDone<PaymentMethod> read) {
        deps_.ledger.payment_method_async(id, std::move(read));
      },
      std::move(done));
}

void Api::get_payment_method(Call call) {
  std::string id = call.params[0];
  payment_method_json(id, reply_text_when_read(std::move(call)));
}

}  // namespace payd::api
