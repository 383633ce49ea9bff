// Redis Cluster's pure parts: hash slots, the slot map, redirects and which
// arguments of a command are its keys. No I/O (tests/redis/cluster_slots_test.cc).
//
// The rules are those of the Redis Cluster specification: the key space is
// split into 16384 slots; a key's slot is CRC16 (XMODEM) of the key modulo
// 16384, or of its hash tag when it has one, so that keys sharing a tag
// ("{user1000}.following", "{user1000}.followers") live on one node and can
// be used together in one command or script. Each slot is served by one
// primary; a node that does not serve a slot answers -MOVED (the slot has
// moved for good) or -ASK (this one key is on the node importing the slot).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client.h"
#include "redis/resp.h"

namespace payd::redis {

inline constexpr int slot_count = 16384;

// CRC16-CCITT as XMODEM computes it (polynomial 0x1021, initial value 0, no
// reflection): crc16("123456789") == 0x31C3.
std::uint16_t crc16(std::string_view bytes);

// The part of `key` that is hashed: the bytes between the first '{' and the
// first '}' after it when there are any, else the whole key.
std::string_view hash_tag(std::string_view key);

// The slot of `key`, in [0, slot_count).
int hash_slot(std::string_view key);

// "host:port" (IPv6 hosts as they are, without brackets).
std::string address_text(const Url::Host& address);
bool same_address(const Url::Host& left, const Url::Host& right);

// Which primary serves each slot. A plain value: copy it, replace it.
class SlotMap {
 public:
  SlotMap();

  // nullptr when no primary is known for `slot` (in [0, slot_count)).
  const Url::Host* primary_of(int slot) const;
  // Makes `address` the primary of the slots first..last (inclusive,
  // 0 <= first <= last < slot_count).
  void assign(int first, int last, const Url::Host& address);
  // Every slot has a primary.
  bool complete() const;
  // The primaries that serve at least one slot, in order of first assignment.
  std::vector<Url::Host> primaries() const;

 private:
  std::vector<Url::Host> addresses_;  // every address ever assigned
  std::vector<int> slots_served_;     // per entry of addresses_
  std::vector<std::int16_t> owner_;   // per slot: index in addresses_, -1 when none
};

// Parses a CLUSTER SLOTS reply: an array of [first, last, [host, port,
// id...], replicas...]. A primary reported with an empty host ("" when the
// node does not know its own address) is on `answered_by_host`, the host the
// reply came from. Returns nullopt and sets *error for anything that is not
// such a reply (an error reply, a slot out of range, a missing port).
std::optional<SlotMap> parse_cluster_slots(const Reply& reply, const std::string& answered_by_host, std::string* error);

// A -MOVED or -ASK error: "MOVED 3999 127.0.0.1:6381" (with or without the
// leading '-'). An empty host (":6381") means the host of the node that
// answered: the caller fills it in. nullopt for any other error text, or a
// malformed redirect (then the error is returned to the caller as it is).
struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  int slot = 0;
  Url::Host address;
};
std::optional<Redirect> parse_redirect(std::string_view error);

// Where a command must be sent, from its name and arguments.
struct Route {
  enum class Kind {
    slot,             // to the primary of `slot`
    any_node,         // no key (PING, PUBLISH, EVAL with no keys)
    cross_slot,       // keys in different slots: never sent
    unknown_command,  // a command whose keys this table does not know: never sent
  };
  Kind kind = Kind::unknown_command;
  int slot = -1;  // Kind::slot only
  // Running the command twice leaves Redis as running it once and answers
  // the same (GET, SET, DEL, EXPIRE, ZADD ...), so it may be sent again when
  // its connection broke before the reply came. INCR, GETDEL, EVAL and
  // PUBLISH are not.
  bool resend_safe = false;
};
Route route_command(const Command& command);

// The error reply the cluster client completes a command with when
// route_command refuses it (cross_slot, unknown_command), in the words Redis
// itself would use ("CROSSSLOT Keys in request don't hash to the same slot").
std::string route_error(const Route& route, const Command& command);

}  // namespace payd::redis
