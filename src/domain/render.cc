#include "domain/render.h"

#include "core/clock.h"
#include "core/json_writer.h"

namespace payd {
namespace {

std::string object(auto&& write) {
  std::string out;
  out.reserve(384);
  JsonWriter json(out);
  json.begin_object();
  write(json);
  json.end_object();
  return out;
}

}  // namespace

std::string render(const Account& a) {
  return object([&](JsonWriter& json) {
    json.member("id", a.id).member("object", "account").member("currency", a.currency);
    json.member("type", to_string(a.type));
    if (a.role != SystemRole::none) json.member("role", to_string(a.role));
    json.member("balance", a.balance).member("held", a.held);
    json.member("available", available(a).value_or(0));
    json.member("overdraft_limit", a.overdraft_limit).member("version", a.version);
    json.member("created_at", format_rfc3339(a.created_at_ms));
    json.key("metadata").raw(a.metadata_json);
  });
}

std::string render(const Entry& e) {
  return object([&](JsonWriter& json) {
    json.member("id", e.id).member("object", "entry").member("account", e.account);
    json.member("transfer", e.transfer).member("amount", e.amount).member("currency", e.currency);
    json.member("balance_after", e.balance_after).member("sequence", e.sequence);
    json.member("created_at", format_rfc3339(e.created_at_ms));
  });
}

std::string render(const Transfer& t) {
  return object([&](JsonWriter& json) {
    json.member("id", t.id).member("object", "transfer").member("from", t.from).member("to", t.to);
    json.member("amount", t.amount).member("currency", t.currency).member("status", "posted");
    json.member_or_null("description", t.description);
    json.member("created_at", format_rfc3339(t.created_at_ms));
    json.key("metadata").raw(t.metadata_json);
  });
}

std::string render(const Deposit& d) {
  return object([&](JsonWriter& json) {
    json.member("id", d.id).member("object", "deposit").member("account", d.account);
    json.member("amount", d.amount).member("currency", d.currency);
    json.member("created_at", format_rfc3339(d.created_at_ms));
    json.key("metadata").raw(d.metadata_json);
  });
}

std::string render(const Merchant& m) {
  return object([&](JsonWriter& json) {
    json.member("id", m.id).member("object", "merchant").member("name", m.name);
    json.member("settlement_currency", m.settlement_currency).member("max_amount", m.max_amount);
    json.member("fee_bps", m.fee_bps).member("fee_fixed", m.fee_fixed);
    json.member_or_null("mcc", m.mcc).member_or_null("processor", m.processor);
    json.member("active", m.active).member("account", m.account);
    json.member("created_at", format_rfc3339(m.created_at_ms));
    json.member("updated_at", format_rfc3339(m.updated_at_ms));
  });
}

std::string render(const PaymentMethod& p) {
  return object([&](JsonWriter& json) {
    json.member("id", p.id).member("object", "payment_method").member("type", "card");
    json.key("card").begin_object();
    json.member("brand", p.brand).member("bin", p.bin).member("last4", p.last4);
    json.member("exp_month", p.exp_month).member("exp_year", p.exp_year);
    json.member("fingerprint", p.fingerprint);
    json.member_or_null("country", p.country).member_or_null("type", p.card_type);
    json.end_object();
    json.member_or_null("customer", p.customer);
    json.member("created_at", format_rfc3339(p.created_at_ms));
  });
}

std::string render(const Payment& p) {
  return object([&](JsonWriter& json) {
    json.member("id", p.id).member("object", "payment").member("amount", p.amount);
    json.member("currency", p.currency).member("merchant", p.merchant);
    json.key("source").begin_object();
    json.member("type", to_string(p.source_type));
    json.member(p.source_type == SourceType::card ? "payment_method" : "account", p.source_id);
    json.end_object();
    json.member("status", to_string(p.status));
    json.member("amount_captured", p.amount_captured).member("amount_refunded", p.amount_refunded);
    json.member("fee", p.fee);
    json.member_or_null("gateway", p.gateway).member_or_null("gateway_reference", p.gateway_reference);
    json.member_or_null("failure_code", p.failure_code);
    if (p.fx) {
      json.key("fx").begin_object();
      json.member("rate", format_rate(p.fx->rate)).member("version", p.fx->version);
      json.member("settlement_currency", p.fx->settlement_currency);
      json.member("settlement_amount", p.fx->settlement_amount);
      json.end_object();
    } else {
      json.key("fx").null();
    }
    json.member_or_null("review", p.review);
    json.member_or_null("description", p.description);
    json.member("created_at", format_rfc3339(p.created_at_ms));
    json.member("updated_at", format_rfc3339(p.updated_at_ms));
    json.key("metadata").raw(p.metadata_json);
  });
}

std::string render(const Refund& r) {
  return object([&](JsonWriter& json) {
    json.member("id", r.id).member("object", "refund").member("payment", r.payment);
    json.member("amount", r.amount).member("status", to_string(r.status));
    json.member_or_null("reason", r.reason);
    json.member("created_at", format_rfc3339(r.created_at_ms));
  });
}

std::string render(const FxRate& f) {
  return object([&](JsonWriter& json) {
    json.member("object", "fx_rate").member("base", f.base).member("quote", f.quote);
    json.member("rate", format_rate(f.rate)).member("version", f.version);
    json.member("updated_at", format_rfc3339(f.updated_at_ms));
  });
}

std::string render_list(const std::vector<std::string>& items, bool has_more) {
  std::size_t size = 48;
  for (const auto& item : items) size += item.size() + 1;
  std::string out;
  out.reserve(size);
  JsonWriter json(out);
  json.begin_object().member("object", "list").key("data").begin_array();
  for (const auto& item : items) json.raw(item);
  json.end_array().member("has_more", has_more).end_object();
  return out;
}

}  // namespace payd
