#include "ledger/sqlite/page_cache.h"

#include <sqlite3.h>

#include <atomic>
#include <new>
#include <set>

namespace payd::ledger::sqlite {
namespace {

sqlite3_pcache_methods2 pcache1;  // SQLite's default page cache

std::atomic<std::uint64_t> drops_asked{0};
std::atomic<std::uint64_t> drops_passed_on{0};

// One cache per connection; a connection is used by one thread at a time,
// so a cache's own state needs no lock.
struct Cache {
  sqlite3_pcache* inner = nullptr;
  // Since the last drop (or since the cache was made, when `end` is 0):
  // every page the cache held then is numbered below `end`, the drop's
  // limit; a page that entered since was made by a fetch, numbered at most
  // `made_max`, or given a new number, one of `moved`. `lost` when a new
  // number could not be kept (no memory): the next drop is passed on.
  unsigned end = 0;
  unsigned made_max = 0;
  std::set<unsigned> moved;
  bool lost = false;
};

Cache* cache_of(sqlite3_pcache* cache) { return reinterpret_cast<Cache*>(cache); }

int init(void* arg) { return pcache1.xInit(arg); }

void shutdown(void* arg) { pcache1.xShutdown(arg); }

sqlite3_pcache* create(int page_size, int extra_size, int purgeable) {
  Cache* cache = new (std::nothrow) Cache;
  if (cache == nullptr) return nullptr;
  cache->inner = pcache1.xCreate(page_size, extra_size, purgeable);
  if (cache->inner == nullptr) {
    delete cache;
    return nullptr;
  }
  return reinterpret_cast<sqlite3_pcache*>(cache);
}

void cachesize(sqlite3_pcache* cache, int pages) { pcache1.xCachesize(cache_of(cache)->inner, pages); }

int pagecount(sqlite3_pcache* cache) { return pcache1.xPagecount(cache_of(cache)->inner); }

sqlite3_pcache_page* fetch(sqlite3_pcache* cache, unsigned key, int create_flag) {
  Cache* self = cache_of(cache);
  sqlite3_pcache_page* page = pcache1.xFetch(self->inner, key, create_flag);
  if (page != nullptr && create_flag != 0 && key > self->made_max) self->made_max = key;
  return page;
}

void unpin(sqlite3_pcache* cache, sqlite3_pcache_page* page, int discard) {
  pcache1.xUnpin(cache_of(cache)->inner, page, discard);
}

void rekey(sqlite3_pcache* cache, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
  Cache* self = cache_of(cache);
  pcache1.xRekey(self->inner, page, old_key, new_key);
  self->moved.erase(old_key);
  try {
    self->moved.insert(new_key);
  } catch (const std::bad_alloc&) {
    self->lost = true;
  }
}

// Drops the pages numbered `limit` and above.
void truncate(sqlite3_pcache* cache, unsigned limit) {
  Cache* self = cache_of(cache);
  drops_asked.fetch_add(1, std::memory_order_relaxed);
  bool may_hold = self->lost || limit < self->end || self->made_max >= limit ||
                  (!self->moved.empty() && *self->moved.rbegin() >= limit);
  if (may_hold) {
    drops_passed_on.fetch_add(1, std::memory_order_relaxed);
    pcache1.xTruncate(self->inner, limit);
  }
  // Nothing numbered `limit` or above is cached now.
  self->end = limit;
  self->made_max = 0;
  self->moved.clear();
  self->lost = false;
}

void destroy(sqlite3_pcache* cache) {
  Cache* self = cache_of(cache);
  pcache1.xDestroy(self->inner);
  delete self;
}

void shrink(sqlite3_pcache* cache) { pcache1.xShrink(cache_of(cache)->inner); }

bool install() {
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &pcache1) != SQLITE_OK || pcache1.xFetch == nullptr) return false;
  static sqlite3_pcache_methods2 methods = {
      1,       nullptr, init,   shutdown, create, cachesize, pagecount,
      fetch,   unpin,   rekey,  truncate, destroy, shrink,
  };
  methods.pArg = pcache1.pArg;
  return sqlite3_config(SQLITE_CONFIG_PCACHE2, &methods) == SQLITE_OK;
}

}  // namespace

bool install_page_cache() {
  static const bool installed = install();
  return installed;
}

PageCacheDrops page_cache_drops() {
  return PageCacheDrops{drops_asked.load(std::memory_order_relaxed), drops_passed_on.load(std::memory_order_relaxed)};
}

}  // namespace payd::ledger::sqlite
