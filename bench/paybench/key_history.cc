#include "bench/paybench/key_history.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <functional>
#include <string_view>
#include <utility>

namespace payd::bench {
namespace {

// Half of the duplicates re-send one of the newest keys, many of which are
// still in flight on another connection; the other half any recent key.
constexpr std::size_t newest_window = 64;
static_assert(newest_window <= KeyHistory::recent_max);

// SplitMix64's finaliser: a bijection of 64-bit numbers that scatters
// neighbours.
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

std::optional<KeyStyle> parse_key_style(std::string_view text) {
  if (text == "uuid4") return KeyStyle::uuid4;
  if (text == "ordered") return KeyStyle::ordered;
  return std::nullopt;
}

std::string_view to_string(KeyStyle style) { return style == KeyStyle::uuid4 ? "uuid4" : "ordered"; }

KeyMaker::KeyMaker(std::string run_id, KeyStyle style)
    : run_id_(std::move(run_id)), style_(style), run_bits_(std::hash<std::string>{}(run_id_)) {}

std::pair<std::uint64_t, std::string> KeyMaker::next() {
  last_sequence_ += 1;
  char text[40];
  if (style_ == KeyStyle::ordered) {
    std::snprintf(text, sizeof text, "%012llu", static_cast<unsigned long long>(last_sequence_));
    return {last_sequence_, "pb-" + run_id_ + "-" + text};
  }
  // Each half is a bijection of n within the run. The UUID format sets six
  // of their bits, so two keys of a run could meet only if both halves
  // agreed in all the other bits: practically never.
  std::uint64_t high = mix64(last_sequence_ ^ run_bits_);
  std::uint64_t low = mix64(last_sequence_ + mix64(run_bits_));
  high = (high & ~0xf000ull) | 0x4000ull;          // version 4
  low = (low & ~(0x3ull << 62)) | (0x2ull << 62);  // variant 10
  std::snprintf(text, sizeof text, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(high >> 32),
                static_cast<unsigned long long>((high >> 16) & 0xffff),
                static_cast<unsigned long long>(high & 0xffff), static_cast<unsigned long long>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffull));
  return {last_sequence_, text};
}

void KeyHistory::remember(std::uint64_t sequence, RequestKind kind, const HttpRequest& request) {
  assert(sequence > 0);
  assert(sequence > newest_sequence_);
  KeyRecord& slot = recent_[sequence % recent_max];
  if (slot.sequence != 0 && (slot.sends > 1 || keep_every_key_)) {
    std::uint64_t leaving = slot.sequence;
    kept_gone_.emplace(leaving, std::move(slot));
  }
  slot = KeyRecord{sequence, kind, request, 1, {}};
  newest_sequence_ = sequence;
  remembered_ += 1;
}

const KeyRecord* KeyHistory::pick_duplicate(Random& random) {
  if (remembered_ == 0) return nullptr;
  std::size_t window = std::min(remembered_, random.uniform(2) == 0 ? newest_window : recent_max);
  std::uint64_t back = random.uniform(window);
  KeyRecord* record = find(newest_sequence_ - back);
  if (record == nullptr) return nullptr;
  record->sends += 1;
  return record;
}

void KeyHistory::record_resend(std::uint64_t sequence) {
  KeyRecord* record = find(sequence);
  if (record != nullptr) record->sends += 1;
}

void KeyHistory::record_answer(std::uint64_t sequence, KeyAnswer answer) {
  KeyRecord* record = find(sequence);
  if (record == nullptr) return;
  assert(record->sequence == sequence);
  record->answers.push_back(std::move(answer));
}

std::vector<const KeyRecord*> KeyHistory::duplicated() const {
  std::vector<const KeyRecord*> records;
  records.reserve(duplicated_count());
  for (const KeyRecord& record : recent_) {
    if (record.sequence != 0 && record.sends > 1) records.push_back(&record);
  }
  for (const auto& [sequence, record] : kept_gone_) {
    if (record.sends > 1) records.push_back(&record);
  }
  return records;
}

std::vector<const KeyRecord*> KeyHistory::every_key() const {
  std::vector<const KeyRecord*> records;
  records.reserve(recent_max + kept_gone_.size());
  for (const KeyRecord& record : recent_) {
    if (record.sequence != 0) records.push_back(&record);
  }
  for (const auto& [sequence, record] : kept_gone_) records.push_back(&record);
  return records;
}

std::size_t KeyHistory::duplicated_count() const {
  auto in_ring = std::count_if(recent_.begin(), recent_.end(),
                               [](const KeyRecord& record) { return record.sequence != 0 && record.sends > 1; });
  auto gone =
      std::count_if(kept_gone_.begin(), kept_gone_.end(), [](const auto& entry) { return entry.second.sends > 1; });
  return static_cast<std::size_t>(in_ring + gone);
}

KeyRecord* KeyHistory::find(std::uint64_t sequence) {
  if (sequence == 0) return nullptr;
  KeyRecord& slot = recent_[sequence % recent_max];
  if (slot.sequence == sequence) return &slot;
  auto gone = kept_gone_.find(sequence);
  return gone == kept_gone_.end() ? nullptr : &gone->second;
}

bool records_decision(const KeyAnswer& answer) {
  if (answer.status >= 200 && answer.status < 300) return true;
  if (answer.status == 402) return true;
  return answer.status == 409 && (answer.code == "invalid_state" || answer.code == "amount_exceeds_refundable");
}

bool has_decision(const KeyRecord& record) {
  return std::any_of(record.answers.begin(), record.answers.end(), records_decision);
}

bool at_most_one_effect(const KeyRecord& record) {
  const KeyAnswer* first_decision = nullptr;
  int executed = 0;
  for (const KeyAnswer& answer : record.answers) {
    if (answer.status == 422) return false;
    if (!records_decision(answer)) continue;
    if (!answer.replayed) executed += 1;
    if (first_decision == nullptr) first_decision = &answer;
    if (answer.status != first_decision->status || answer.body_hash != first_decision->body_hash) return false;
  }
  return executed <= 1;
}

KeyAnswer make_key_answer(const HttpResponse& response, const std::string& id, const std::string& code) {
  KeyAnswer answer;
  answer.status = response.status;
  answer.replayed = response.replayed;
  answer.body_hash = std::hash<std::string_view>{}(response.body);
  answer.id = id;
  answer.code = code;
  return answer;
}

}  // namespace payd::bench
