#include "redis/cluster_slots.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstddef>

namespace payd::redis {
namespace {

constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    std::uint16_t crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}
constexpr std::array<std::uint16_t, 256> crc16_table = make_crc16_table();
static_assert(crc16_table[1] == 0x1021 && crc16_table[255] == 0x1EF0);

// Parses a decimal integer that is the whole of `text`.
std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<Url::Host> parse_host_port(std::string_view text) {
  std::size_t colon = text.rfind(':');  // IPv6 hosts contain colons too: the port is after the last
  if (colon == std::string_view::npos) return std::nullopt;
  std::optional<std::int64_t> port = parse_integer(text.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535) return std::nullopt;
  return Url::Host{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(*port)};
}

// Which arguments of a command are keys, after Redis's own command table:
// arguments first..last (-1: up to the last argument).
struct KeySpec {
  std::string_view name;  // upper case
  int first = 0;          // 0: no key
  int last = 0;
  bool resend_safe = false;
};

constexpr int last_argument = -1;

constexpr KeySpec key_specs[] = {
    {"GET", 1, 1, true},
    {"SET", 1, 1, true},
    {"GETDEL", 1, 1, false},
    {"DEL", 1, last_argument, true},
    {"UNLINK", 1, last_argument, true},
    {"EXISTS", 1, last_argument, true},
    {"MGET", 1, last_argument, true},
    {"INCR", 1, 1, false},
    {"INCRBY", 1, 1, false},
    {"EXPIRE", 1, 1, true},
    {"PEXPIRE", 1, 1, true},
    {"TTL", 1, 1, true},
    {"PTTL", 1, 1, true},
    {"ZADD", 1, 1, true},
    {"ZREM", 1, 1, true},
    {"ZREMRANGEBYSCORE", 1, 1, true},
    {"ZCARD", 1, 1, true},
    {"ZRANGE", 1, 1, true},
    {"PUBLISH", 0, 0, false},
    {"PING", 0, 0, true},
};

const KeySpec* find_key_spec(std::string_view upper_name) {
  for (const KeySpec& spec : key_specs) {
    if (spec.name == upper_name) return &spec;
  }
  return nullptr;
}

std::string upper_case(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return upper;
}

// The route of a command whose keys are arguments first..last (inclusive):
// all of them must be in one slot.
Route route_keys(const Command& command, std::size_t first, std::size_t last, bool resend_safe) {
  Route route;
  route.resend_safe = resend_safe;
  if (first > last || last >= command.size()) {
    route.kind = Route::Kind::any_node;  // no key: Redis answers the arity error itself
    return route;
  }
  route.kind = Route::Kind::slot;
  route.slot = hash_slot(command[first]);
  for (std::size_t index = first + 1; index <= last; ++index) {
    if (hash_slot(command[index]) != route.slot) {
      route.kind = Route::Kind::cross_slot;
      route.slot = -1;
      break;
    }
  }
  return route;
}

// EVAL script numkeys key... arg...; EVALSHA the same.
Route route_script(const Command& command) {
  constexpr std::size_t keys_from = 3;
  std::optional<std::int64_t> numkeys = command.size() > 2 ? parse_integer(command[2]) : std::nullopt;
  if (!numkeys || *numkeys <= 0 || static_cast<std::size_t>(*numkeys) > command.size() - keys_from) {
    // No key, or a malformed count: any node answers (with its own error for the latter).
    return Route{Route::Kind::any_node, -1, false};
  }
  return route_keys(command, keys_from, keys_from + static_cast<std::size_t>(*numkeys) - 1, false);
}

}  // namespace

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (char c : bytes) {
    auto index = static_cast<std::uint8_t>((crc >> 8) ^ static_cast<std::uint8_t>(c));
    crc = static_cast<std::uint16_t>((crc << 8) ^ crc16_table[index]);
  }
  return crc;
}

std::string_view hash_tag(std::string_view key) {
  std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

int hash_slot(std::string_view key) {
  static_assert((slot_count & (slot_count - 1)) == 0, "the modulo below is a mask");
  int slot = crc16(hash_tag(key)) & (slot_count - 1);
  assert(slot >= 0 && slot < slot_count);
  return slot;
}

std::string address_text(const Url::Host& address) { return address.host + ":" + std::to_string(address.port); }

bool same_address(const Url::Host& left, const Url::Host& right) {
  return left.port == right.port && left.host == right.host;
}

SlotMap::SlotMap() : owner_(slot_count, -1) {}

const Url::Host* SlotMap::primary_of(int slot) const {
  assert(slot >= 0 && slot < slot_count);
  std::int16_t owner = owner_[static_cast<std::size_t>(slot)];
  return owner < 0 ? nullptr : &addresses_[static_cast<std::size_t>(owner)];
}

void SlotMap::assign(int first, int last, const Url::Host& address) {
  assert(0 <= first && first <= last && last < slot_count);
  auto known = std::find_if(addresses_.begin(), addresses_.end(),
                            [&](const Url::Host& candidate) { return same_address(candidate, address); });
  std::size_t index = static_cast<std::size_t>(known - addresses_.begin());
  if (known == addresses_.end()) {
    // A map lives until the next refresh replaces it, so it only holds the
    // few addresses seen since; an int16 index is plenty.
    assert(addresses_.size() < static_cast<std::size_t>(slot_count));
    addresses_.push_back(address);
    slots_served_.push_back(0);
  }
  for (int slot = first; slot <= last; ++slot) {
    std::int16_t& owner = owner_[static_cast<std::size_t>(slot)];
    if (owner >= 0) --slots_served_[static_cast<std::size_t>(owner)];
    owner = static_cast<std::int16_t>(index);
    ++slots_served_[index];
  }
}

bool SlotMap::complete() const {
  return std::none_of(owner_.begin(), owner_.end(), [](std::int16_t owner) { return owner < 0; });
}

std::vector<Url::Host> SlotMap::primaries() const {
  std::vector<Url::Host> serving;
  for (std::size_t index = 0; index < addresses_.size(); ++index) {
    if (slots_served_[index] > 0) serving.push_back(addresses_[index]);
  }
  return serving;
}

std::optional<SlotMap> parse_cluster_slots(const Reply& reply, const std::string& answered_by_host,
                                           std::string* error) {
  assert(error != nullptr);
  if (reply.type != Reply::Type::array) {
    *error = reply.is_error() ? "CLUSTER SLOTS failed: " + reply.text : "CLUSTER SLOTS did not answer an array";
    return std::nullopt;
  }
  SlotMap map;
  for (const Reply& range : reply.elements) {
    bool shaped = range.type == Reply::Type::array && range.elements.size() >= 3 &&
                  range.elements[0].type == Reply::Type::integer && range.elements[1].type == Reply::Type::integer &&
                  range.elements[2].type == Reply::Type::array && range.elements[2].elements.size() >= 2;
    if (!shaped) {
      *error = "CLUSTER SLOTS: a slot range is not [first, last, [host, port, ...], ...]";
      return std::nullopt;
    }
    std::int64_t first = range.elements[0].integer;
    std::int64_t last = range.elements[1].integer;
    const Reply& host = range.elements[2].elements[0];
    const Reply& port = range.elements[2].elements[1];
    if (first < 0 || first > last || last >= slot_count) {
      *error = "CLUSTER SLOTS: slot range " + std::to_string(first) + "-" + std::to_string(last) + " out of range";
      return std::nullopt;
    }
    if (host.type != Reply::Type::bulk || port.type != Reply::Type::integer || port.integer <= 0 ||
        port.integer > 65535) {
      *error = "CLUSTER SLOTS: a primary without a host and port";
      return std::nullopt;
    }
    Url::Host primary{host.text.empty() ? answered_by_host : host.text, static_cast<std::uint16_t>(port.integer)};
    map.assign(static_cast<int>(first), static_cast<int>(last), primary);
  }
  return map;
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  if (!error.empty() && error.front() == '-') error.remove_prefix(1);
  Redirect redirect;
  if (error.starts_with("MOVED ")) {
    redirect.kind = Redirect::Kind::moved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    redirect.kind = Redirect::Kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  std::size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::optional<std::int64_t> slot = parse_integer(error.substr(0, space));
  std::optional<Url::Host> address = parse_host_port(error.substr(space + 1));
  if (!slot || *slot < 0 || *slot >= slot_count || !address) return std::nullopt;
  redirect.slot = static_cast<int>(*slot);
  redirect.address = std::move(*address);
  return redirect;
}

Route route_command(const Command& command) {
  if (command.empty()) return Route{};
  std::string name = upper_case(command[0]);
  if (name == "EVAL" || name == "EVALSHA") return route_script(command);
  const KeySpec* spec = find_key_spec(name);
  if (spec == nullptr) return Route{};
  if (spec->first == 0) return Route{Route::Kind::any_node, -1, spec->resend_safe};
  std::size_t last = spec->last == last_argument ? command.size() - 1 : static_cast<std::size_t>(spec->last);
  return route_keys(command, static_cast<std::size_t>(spec->first), last, spec->resend_safe);
}

std::string route_error(const Route& route, const Command& command) {
  assert(route.kind == Route::Kind::cross_slot || route.kind == Route::Kind::unknown_command);
  if (route.kind == Route::Kind::cross_slot) return "CROSSSLOT Keys in request don't hash to the same slot";
  if (command.empty()) return "ERR empty command";
  return "ERR the cluster client does not know which arguments of '" + command[0] +
         "' are keys; add it to the table in cluster_slots.cc";
}

}  // namespace payd::redis
