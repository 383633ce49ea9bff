#include "ledger/rows.h"

namespace payd::ledger {

SystemRole parse_system_role(const std::string& text) {
  if (text == "external") return SystemRole::external;
  if (text == "fees") return SystemRole::fees;
  if (text == "gateway_clearing") return SystemRole::gateway_clearing;
  if (text == "fx") return SystemRole::fx;
  return SystemRole::none;
}

constexpr char id_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::string_view entry_prefix = "ent_";
constexpr std::size_t entry_digits = 24;

std::string entry_id(std::int64_t number) {
  std::string id(entry_prefix);
  id.append(entry_digits, '0');
  auto value = static_cast<std::uint64_t>(number);
  for (std::size_t i = id.size(); value != 0; value >>= 5) id[--i] = id_alphabet[value & 31];
  return id;
}

std::optional<std::int64_t> entry_number(std::string_view id) {
  if (id.size() != entry_prefix.size() + entry_digits || id.substr(0, entry_prefix.size()) != entry_prefix) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : id.substr(entry_prefix.size())) {
    std::string_view alphabet(id_alphabet);
    std::size_t digit = alphabet.find(c);
    if (digit == std::string_view::npos || value >> 59 != 0) return std::nullopt;
    value = value << 5 | digit;
  }
  if (value == 0 || value > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

}  // namespace payd::ledger
