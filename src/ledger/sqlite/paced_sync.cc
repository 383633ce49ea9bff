// The VFS is a copy of SQLite's default one with its own xOpen. A file
// opened through it is the default VFS's file object followed by a
// PacedFile: xOpen lets the default VFS fill in the object, and for a main
// database file swaps its method table for a copy whose xSync and xClose
// are the ones below, which call the original ones. The files are the
// default VFS's own, so their locks and the WAL's shared memory are shared
// with the connections on the default VFS (the writer's, the readers') as
// between any two connections.
#include "ledger/sqlite/paced_sync.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>

#include "ledger/sqlite/page_cache.h"

namespace payd::ledger::sqlite {
namespace {

constexpr const char* vfs_name = "payd-paced-sync";

struct PacedFile {
  sqlite3_io_methods methods;            // the default file's, with xSync and xClose replaced
  const sqlite3_io_methods* original;    // the default file's own table
  int fd;                                // the database file, read-only, for sync_file_range
};

sqlite3_vfs* default_vfs = nullptr;
sqlite3_vfs paced_vfs;
std::size_t paced_file_offset = 0;  // where the PacedFile starts in a file object
std::atomic<std::uint64_t> syncs{0};

PacedFile* paced_of(sqlite3_file* file) {
  return reinterpret_cast<PacedFile*>(reinterpret_cast<char*>(file) + paced_file_offset);
}

int paced_sync(sqlite3_file* file, int flags) {
  PacedFile* paced = paced_of(file);
  assert(paced->original != nullptr);
  // A failed write-back leaves the pages to the sync below, which reports
  // any error that matters.
  if (paced->fd >= 0) write_back_paced(paced->fd);
  syncs.fetch_add(1, std::memory_order_relaxed);
  return paced->original->xSync(file, flags);
}

int paced_close(sqlite3_file* file) {
  PacedFile* paced = paced_of(file);
  const sqlite3_io_methods* original = paced->original;
  assert(original != nullptr);
  if (paced->fd >= 0) ::close(paced->fd);
  paced->fd = -1;
  file->pMethods = original;
  return original->xClose(file);
}

int paced_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  int code = default_vfs->xOpen(default_vfs, name, file, flags, out_flags);
  if (code != SQLITE_OK || file->pMethods == nullptr || (flags & SQLITE_OPEN_MAIN_DB) == 0 || name == nullptr) {
    return code;
  }
  PacedFile* paced = paced_of(file);
  paced->original = file->pMethods;
  paced->methods = *file->pMethods;
  paced->methods.xSync = paced_sync;
  paced->methods.xClose = paced_close;
  // Without a descriptor of its own the file is synced as before.
  paced->fd = ::open(name, O_RDONLY | O_CLOEXEC);
  file->pMethods = &paced->methods;
  return SQLITE_OK;
}

// True once the VFS is registered. SQLite fails to register a VFS only
// when it cannot initialise at all.
bool register_vfs() {
  install_page_cache();  // registering a VFS sets SQLite up, after which its page cache is fixed
  default_vfs = sqlite3_vfs_find(nullptr);
  if (default_vfs == nullptr) return false;
  paced_file_offset = (static_cast<std::size_t>(default_vfs->szOsFile) + alignof(PacedFile) - 1) /
                      alignof(PacedFile) * alignof(PacedFile);
  paced_vfs = *default_vfs;
  paced_vfs.pNext = nullptr;
  paced_vfs.zName = vfs_name;
  paced_vfs.szOsFile = static_cast<int>(paced_file_offset + sizeof(PacedFile));
  paced_vfs.xOpen = paced_open;
  return sqlite3_vfs_register(&paced_vfs, 0) == SQLITE_OK;
}

}  // namespace

const char* paced_sync_vfs() {
  static const bool registered = register_vfs();
  return registered ? vfs_name : nullptr;
}

bool write_back_paced(int fd) {
  struct stat status{};
  if (::fstat(fd, &status) != 0) return false;
  std::int64_t size = status.st_size;
  std::int64_t range = std::max(paced_range_bytes_min, size / paced_ranges_max + 1);
  constexpr unsigned flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  for (std::int64_t offset = 0; offset < size; offset += range) {
    if (::sync_file_range(fd, offset, range, flags) != 0) return false;
  }
  return true;
}

std::uint64_t paced_syncs() { return syncs.load(std::memory_order_relaxed); }

}  // namespace payd::ledger::sqlite
