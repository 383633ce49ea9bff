// JSON representations of the ledger's records (API.md, Resources).
//
// Deterministic: the same record renders to the same bytes, which the
// idempotent replay of a stored body relies on.
#pragma once

#include <string>
#include <vector>

#include "domain/model.h"

namespace payd {

std::string render(const Account& account);
std::string render(const Entry& entry);
std::string render(const Transfer& transfer);
std::string render(const Deposit& deposit);
std::string render(const Merchant& merchant);
std::string render(const PaymentMethod& method);
std::string render(const Payment& payment);
std::string render(const Refund& refund);
std::string render(const FxRate& rate);

// {"object":"list","data":[...],"has_more":...} from rendered items.
std::string render_list(const std::vector<std::string>& items, bool has_more);

template <typename T>
std::string render_list_of(const std::vector<T>& records, bool has_more) {
  std::vector<std::string> items;
  items.reserve(records.size());
  for (const auto& record : records) items.push_back(render(record));
  return render_list(items, has_more);
}

}  // namespace payd
