#include "cache/memory_cache.h"

#include <algorithm>

namespace payd::cache {

MemoryCache::Slot* MemoryCache::live(const std::string& key, std::int64_t now_ms) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return nullptr;
  if (it->second.expires_at_ms <= now_ms) {
    slots_.erase(it);
    return nullptr;
  }
  return &it->second;
}

MemoryCache::Slot& MemoryCache::make_room_and_insert(const std::string& key, std::int64_t now_ms) {
  if (slots_.size() >= entries_max_) {
    std::erase_if(slots_, [&](const auto& entry) { return entry.second.expires_at_ms <= now_ms; });
  }
  if (slots_.size() >= entries_max_) {
    auto soonest = std::min_element(slots_.begin(), slots_.end(), [](const auto& a, const auto& b) {
      return a.second.expires_at_ms < b.second.expires_at_ms;
    });
    slots_.erase(soonest);
  }
  return slots_[key];
}

std::optional<std::string> MemoryCache::get(const std::string& key) {
  std::lock_guard lock(mutex_);
  Slot* slot = live(key, clock_.now_ms());
  if (!slot) return std::nullopt;
  return slot->value;
}

void MemoryCache::set(const std::string& key, std::string value, std::int64_t ttl_ms) {
  std::lock_guard lock(mutex_);
  std::int64_t now_ms = clock_.now_ms();
  Slot* slot = live(key, now_ms);
  Slot& target = slot ? *slot : make_room_and_insert(key, now_ms);
  target = Slot{std::move(value), 0, {}, now_ms + ttl_ms};
}

std::optional<Entry> MemoryCache::take(const std::string& key) {
  std::lock_guard lock(mutex_);
  std::int64_t now_ms = clock_.now_ms();
  Slot* slot = live(key, now_ms);
  if (!slot) return std::nullopt;
  Entry entry{std::move(slot->value), slot->expires_at_ms - now_ms};
  slots_.erase(key);
  return entry;
}

void MemoryCache::erase(const std::string& key) {
  std::lock_guard lock(mutex_);
  slots_.erase(key);
}

std::int64_t MemoryCache::increment(const std::string& key, std::int64_t ttl_ms) {
  std::lock_guard lock(mutex_);
  std::int64_t now_ms = clock_.now_ms();
  Slot* slot = live(key, now_ms);
  if (!slot) {
    slot = &make_room_and_insert(key, now_ms);
    *slot = Slot{{}, 0, {}, now_ms + ttl_ms};
  }
  return ++slot->counter;
}

Cache::Window MemoryCache::add_to_window(const std::string& key, std::int64_t now_ms, std::int64_t window_ms) {
  std::lock_guard lock(mutex_);
  Slot* slot = live(key, clock_.now_ms());
  if (!slot) slot = &make_room_and_insert(key, clock_.now_ms());
  while (!slot->window.empty() && slot->window.front() <= now_ms - window_ms) slot->window.pop_front();
  slot->window.push_back(now_ms);
  slot->expires_at_ms = clock_.now_ms() + window_ms;
  return Window{static_cast<std::int64_t>(slot->window.size()), slot->window.front()};
}

void MemoryCache::remove_from_window(const std::string& key, std::int64_t at_ms) {
  std::lock_guard lock(mutex_);
  Slot* slot = live(key, clock_.now_ms());
  if (!slot) return;
  auto it = std::find(slot->window.rbegin(), slot->window.rend(), at_ms);
  if (it != slot->window.rend()) slot->window.erase(std::next(it).base());
}

std::optional<bool> MemoryCache::add(const std::string& key, std::string value, std::int64_t ttl_ms) {
  std::lock_guard lock(mutex_);
  std::int64_t now_ms = clock_.now_ms();
  if (live(key, now_ms)) return false;
  make_room_and_insert(key, now_ms) = Slot{std::move(value), 0, {}, now_ms + ttl_ms};
  return true;
}

std::size_t MemoryCache::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

}  // namespace payd::cache
