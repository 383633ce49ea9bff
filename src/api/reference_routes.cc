// Routes for reference data (API.md, Reference data): FX rates and the BIN
// table.
//
// Currencies in the path are checked like currencies in a body: an unknown
// or lower-case code is 400 invalid_request naming `base` or `quote`.
#include "api/api.h"
#include "api/body.h"
#include "core/currency.h"
#include "core/fx.h"
#include "core/json_writer.h"

namespace payd::api {
namespace {

struct Pair {
  std::string base;
  std::string quote;
};

Result<Pair> pair_from_path(const std::vector<std::string>& params) {
  const char* names[] = {"base", "quote"};
  for (int i = 0; i < 2; ++i) {
    if (!find_currency(params[i])) {
      return invalid_request(params[i] + " is not an active ISO 4217 currency code (upper case)", names[i]);
    }
  }
  if (params[0] == params[1]) return invalid_request("base and quote must be different currencies", "quote");
  return Pair{params[0], params[1]};
}

}  // namespace

void Api::put_fx_rate(Call call) {
  Result<Pair> pair = pair_from_path(call.params);
  if (!pair.ok()) return reply_problem(call, pair.problem());
  auto build = [pair = pair.value()](const Prepared& prepared) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({"rate"}); !known.ok()) return known.take_problem();
    const boost::json::value* value = fields.find("rate");
    if (!value) return invalid_request("rate is required", "rate");
    if (!value->is_string()) return invalid_request("rate must be a decimal string such as \"1.0842\"", "rate");
    Result<Rate> rate = parse_rate(std::string_view(value->get_string()));
    if (!rate.ok()) return rate.take_problem();
    return ledger::Command(ledger::SetFxRate{pair.base, pair.quote, rate.value()});
  };
  // Cached copies go before the answer does (see reference/fx_rates.h).
  std::string key = reference::FxRates::cache_key(pair->base, pair->quote);
  auto next = [this, key](const ledger::Outcome& outcome, Finish finish) {
    if (outcome.reply.status != 200) return finish(outcome);
    deps_.reference_cache.invalidate(key, [finish, outcome] { finish(outcome); });
  };
  submit(std::move(call), false, at_once(build), next);
}

void Api::get_fx_rate(Call call) {
  Result<Pair> pair = pair_from_path(call.params);
  if (!pair.ok()) return reply_problem(call, pair.problem());
  deps_.fx_rates.current(pair->base, pair->quote, reply_when_read<FxRate>(std::move(call)));
}

void Api::get_bin(Call call) {
  const std::string& bin = call.params[0];
  bool digits = bin.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || bin.size() < reference::bin_digits_min || bin.size() > reference::bin_digits_max) {
    return reply_problem(call, invalid_request("bin must be 6 to 8 digits", "bin"));
  }
  std::optional<reference::BinRange> range = deps_.bins.lookup(bin);
  if (!range) return reply_problem(call, not_found("no BIN range covers " + bin));
  std::string body;
  JsonWriter json(body);
  json.begin_object().member("object", "bin").member("bin", bin).member("brand", range->brand);
  json.member("country", range->country).member("type", range->type).end_object();
  reply(call, 200, std::move(body));
}

}  // namespace payd::api
