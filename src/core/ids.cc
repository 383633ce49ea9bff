#include "core/ids.h"

#include <cassert>

namespace payd {
namespace {

constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

bool is_alphabet_char(char c) {
  for (const char* p = alphabet; *p; ++p) {
    if (*p == c) return true;
  }
  return false;
}

}  // namespace

std::string_view id_prefix(IdType type) {
  switch (type) {
    case IdType::account: return "acct_";
    case IdType::merchant: return "mer_";
    case IdType::transfer: return "tr_";
    case IdType::deposit: return "dep_";
    case IdType::payment: return "pay_";
    case IdType::refund: return "re_";
    case IdType::payment_method: return "pm_";
    case IdType::session: return "cs_";
    case IdType::entry: return "ent_";
    case IdType::request: return "req_";
  }
  return "";
}

std::string IdGenerator::next(IdType type) {
  std::uint64_t time_ms = 0;
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  {
    std::lock_guard lock(mutex_);
    std::int64_t now = clock_.now_ms();
    if (now > last_ms_) {
      last_ms_ = now;
      high_ = random_.next_u64() & 0x7f;  // top bit clear leaves room to count
      low_ = random_.next_u64();
    } else if (++low_ == 0) {
      ++high_;  // carry; 2^71 ids in one millisecond will not happen
    }
    time_ms = static_cast<std::uint64_t>(last_ms_);
    high = high_;
    low = low_;
  }
  // 120 bits: 48 of time, 8 high counter bits, 64 low counter bits, as a
  // 56-bit upper word and a 64-bit lower one; written 5 bits a character,
  // from the least significant at the end of the id.
  std::uint64_t upper = ((time_ms & ((std::uint64_t{1} << 48) - 1)) << 8) | (high & 0xff);
  std::uint64_t lower = low;
  std::string_view prefix = id_prefix(type);
  std::string id(prefix.size() + id_body_length, '0');
  id.replace(0, prefix.size(), prefix);
  for (std::size_t c = id.size(); c-- > prefix.size();) {
    id[c] = alphabet[lower & 31u];
    lower = (lower >> 5) | (upper << 59);
    upper >>= 5;
  }
  assert(is_id_of(type, id));
  return id;
}

bool is_id_of(IdType type, std::string_view id) {
  std::string_view prefix = id_prefix(type);
  if (id.size() != prefix.size() + id_body_length || id.substr(0, prefix.size()) != prefix) return false;
  for (char c : id.substr(prefix.size())) {
    if (!is_alphabet_char(c)) return false;
  }
  return true;
}

}  // namespace payd
