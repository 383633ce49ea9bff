// SQLite's own page cache, without a scan of the whole cache at every
// commit.
//
// At the end of every transaction SQLite drops from its page cache the
// pages past the end of the database (sqlite3PcacheTruncate). The default
// cache (pcache1) knows only the largest page number it ever held since the
// last such drop, and scans every bucket of its hash table when that number
// is far past the end. SQLite 3.40's B-tree, when a split leaves its new
// pages out of order, swaps their numbers through a temporary one: the
// page of the lock byte, number 262,145 with 4 KiB pages. After such a
// split the cache believes it holds page 262,145, and the commit scans all
// of it: the writer's 32 MiB cache, 8,192 pages. UUIDv4 idempotency keys
// split the key index all the time; at 10,000 transfers/s the scans took
// 11% of the writer's time (perf, one run of 3 s).
//
// This cache is pcache1 with one change: since the last drop it keeps the
// largest number of the pages it made, and the numbers pages were moved to,
// and passes a drop on to pcache1 only when one of them is at or past the
// new end (or the new end is below the last one). A page can enter the
// cache only by a fetch that makes it or by a move; every page there
// before the last drop is below that drop's end. So when none of the
// numbers is at or past the new end, the cache holds no page there and
// pcache1's drop would find nothing. The numbers may include pages pcache1
// has let go since (it recycles pages without telling), which only costs a
// drop that was not needed.
#pragma once

#include <cstdint>

namespace payd::ledger::sqlite {

// Makes this cache SQLite's page cache. It must run before SQLite's first
// use in the process (Connection's constructor and paced_sync_vfs() call
// it); later, SQLite refuses a new cache and keeps its own. True when this
// cache is in use. Thread-safe; only the first call does anything.
bool install_page_cache();

// For tests and benchmarks: the drops of pages past the end SQLite asked
// for, and how many of them were passed on to pcache1 (the others had
// nothing to drop).
struct PageCacheDrops {
  std::uint64_t asked = 0;
  std::uint64_t passed_on = 0;
};
PageCacheDrops page_cache_drops();

}  // namespace payd::ledger::sqlite
