// InFlightKeys: idempotency keys being processed right now in this process.
//
// A second request with a key that is in flight gets 409
// `idempotency_key_in_use` instead of racing the first. The durable record
// in the ledger stays the authority once a request completes; this set only
// covers the window while it runs. Sharded to keep lock contention low.
// Thread-safe.
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <unordered_set>

namespace payd::api {

class InFlightKeys {
 public:
  // True when the caller now owns `key` and must release() it.
  bool try_acquire(const std::string& key);
  void release(const std::string& key);
  std::size_t size() const;

 private:
  static constexpr std::size_t shards_count = 16;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_set<std::string> keys;
  };
  Shard& shard_for(const std::string& key);

  std::array<Shard, shards_count> shards_;
};

}  // namespace payd::api
