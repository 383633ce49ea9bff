#include "api/in_flight_keys.h"

#include <cassert>
#include <functional>

namespace payd::api {

InFlightKeys::Shard& InFlightKeys::shard_for(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shards_count];
}

bool InFlightKeys::try_acquire(const std::string& key) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  return shard.keys.insert(key).second;
}

void InFlightKeys::release(const std::string& key) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  std::size_t erased = shard.keys.erase(key);
  assert(erased == 1);
  (void)erased;
}

std::size_t InFlightKeys::size() const {
  std::size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.keys.size();
  }
  return total;
}

}  // namespace payd::api
