// KeyHistory: what paybench sent under each Idempotency-Key, so that it can
// send some of them again (duplicates) and check afterwards that each key
// had at most one effect.
//
// Every money-moving request is remembered in a ring of the most recent
// `recent_max` keys; duplicates are drawn from that ring, so with many
// connections some duplicates overlap their original in flight. A key that
// was duplicated keeps all its answers until the end of the run, also after
// it left the ring; the answers of other keys are forgotten with them.
// Memory is therefore bounded by the ring plus the duplicates sent.
//
// With `keep_every_key` (paybench --retries), every key is kept with all
// its answers until the end of the run instead: retries come back to a key
// long after it left the ring, and the check then accounts for every key's
// effect in the ledger. Memory grows with the keys sent; runs with retries
// are meant to be short.
//
// Sans-I/O, single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/paybench/http_client.h"
#include "bench/paybench/workload.h"
#include "core/clock.h"

namespace payd::bench {

// How clients make their Idempotency-Keys. Where a key falls in the
// ledger's key index decides what storing it costs: a random key (UUIDv4,
// what most clients send) lands on a random page of the index, a
// time-ordered one (UUIDv7, ULID) at its end.
enum class KeyStyle { uuid4, ordered };
std::optional<KeyStyle> parse_key_style(std::string_view text);
std::string_view to_string(KeyStyle style);

// Makes the run's Idempotency-Keys from one sequence n = 1, 2, ... for the
// whole run (setup and load), so no key repeats by accident:
// - uuid4: a UUIDv4, its random bits drawn from the run id and n (a
//   different n gives a different key; another run, other keys);
// - ordered: pb-<run id>-<n, twelve digits>, in the order they are made.
class KeyMaker {
 public:
  explicit KeyMaker(std::string run_id, KeyStyle style = KeyStyle::uuid4);
  const std::string& run_id() const { return run_id_; }
  // The next sequence number and its key.
  std::pair<std::uint64_t, std::string> next();

 private:
  std::string run_id_;
  KeyStyle style_;
  std::uint64_t run_bits_ = 0;  // the run id, hashed
  std::uint64_t last_sequence_ = 0;
};

struct KeyAnswer {
  unsigned status = 0;          // 0: no answer
  bool replayed = false;        // Idempotent-Replayed: true
  std::uint64_t body_hash = 0;  // replays are byte-identical to the first answer
  std::string id;               // "id" of a 2xx answer
  std::string code;             // problem code of an error answer
};

struct KeyRecord {
  std::uint64_t sequence = 0;  // the n of the key pb-<run id>-<n>; 0: empty slot
  RequestKind kind = RequestKind::transfer;
  HttpRequest request;
  int sends = 0;
  std::vector<KeyAnswer> answers;
};

class KeyHistory {
 public:
  static constexpr std::size_t recent_max = 1024;

  explicit KeyHistory(bool keep_every_key = false) : keep_every_key_(keep_every_key) {}

  // A new key was sent for the first time. Sequences are unique and > 0.
  void remember(std::uint64_t sequence, RequestKind kind, const HttpRequest& request);

  // A recent record to send again (counted as sent once more), or nullptr
  // when nothing has been remembered yet.
  const KeyRecord* pick_duplicate(Random& random);

  // The key `sequence` was sent once more (a retry). Kept from then on like
  // a duplicated key; ignored when the key has been forgotten already.
  void record_resend(std::uint64_t sequence);

  // An answer for the key `sequence`; dropped when that key was never
  // duplicated and has left the ring.
  void record_answer(std::uint64_t sequence, KeyAnswer answer);

  // Every key sent more than once, with all its answers.
  std::vector<const KeyRecord*> duplicated() const;

  // Every key remembered, in no particular order. With keep_every_key that
  // is every key of the run.
  std::vector<const KeyRecord*> every_key() const;

  std::size_t duplicated_count() const;

 private:
  KeyRecord* find(std::uint64_t sequence);

  bool keep_every_key_ = false;
  std::vector<KeyRecord> recent_ = std::vector<KeyRecord>(recent_max);
  std::uint64_t newest_sequence_ = 0;
  std::size_t remembered_ = 0;
  // Keys that left the ring and are kept: the duplicated ones, or all.
  std::unordered_map<std::uint64_t, KeyRecord> kept_gone_;
};

// Whether one of the key's answers records a decision (see records_decision).
bool has_decision(const KeyRecord& record);

// The answer as kept: status, replay flag and body hash, with the "id" of
// a success or the problem "code" of an error, as read by the caller.
KeyAnswer make_key_answer(const HttpResponse& response, const std::string& id, const std::string& code);

// Whether payd stores and replays this answer (API.md, Idempotency): every
// 2xx, every 402, and 409 invalid_state / amount_exceeds_refundable.
bool records_decision(const KeyAnswer& answer);

// Whether the answers to one key show at most one effect: the answers that
// record a decision are all the same (status and body), at most one of them
// is not a replay, and none is 422 (the same body can never be "reused").
// Answers that record no decision (409 in use, 503, no answer) are allowed.
bool at_most_one_effect(const KeyRecord& record);

}  // namespace payd::bench
