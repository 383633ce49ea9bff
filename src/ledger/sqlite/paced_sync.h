// Paced sync: the checkpointer's writes to the database file go to the disk
// a range at a time, not in one burst ahead of the WAL syncs.
//
// A checkpoint pass copies the pages that changed since the last one
// (several MiB every 200 ms at 10,000 transfers/s) into the database file.
// SQLite syncs the file after a pass only when the pass copied the whole
// WAL; under steady writes few do, and the copies pile up in the page cache
// until the checkpointer's restart rounds sync the file (every 2–3 s at
// 10,000/s, sqlite_ledger.h). Synced at once, those writes queue in the
// disk ahead of the sync thread's WAL fdatasyncs, which every answer waits
// for. So both kinds of sync write the pages back paced: SQLite's, through
// the VFS below, and the rounds' own (write_back_paced() on the file, then
// fdatasync). In a 10 s run at 10,000/s there were 14 of the rounds' syncs
// and 26 through the VFS; at 2,000/s, 3 and 13.
//   - bench/syncprobe's appends beside 6 MiB of random page writes every
//     200 ms, three runs each: p99 2.8–4.2 ms with the pages synced at
//     once, 1.3–1.5 ms written back 256 KiB at a time, each range waited
//     for (0.3–0.4 ms with nothing beside them).
//   - payd at 10,000 transfers/s, ten interleaved pairs of 10 s runs: 151
//     WAL syncs over 2.5 ms in all against 242 (fewer in 8 pairs of 10).
//     The client's p99 could not tell the two apart (median 10.2 ms with
//     it, 10.5 without): the disk's own stalls and the host's decide it.
//
// The checkpointer's connection opens the database through the VFS named
// here, which is SQLite's default VFS with one change: a sync of a main
// database file first writes the file's dirty pages back with
// write_back_paced(), then syncs as before. What SQLite syncs, and when,
// is unchanged: a pass that copied the whole WAL still syncs the database
// file before it counts the frames as copied, and only such a pass lets
// the WAL start over, so it never starts over on pages not on the disk.
#pragma once

#include <cstdint>

namespace payd::ledger::sqlite {

// Ranges of at least this size; larger for large files (at most
// paced_ranges_max ranges a sync).
inline constexpr std::int64_t paced_range_bytes_min = 256 * 1024;
inline constexpr std::int64_t paced_ranges_max = 1024;

// The name of the paced-sync VFS, registered on the first call (not as the
// default VFS); nullptr, SQLite's default VFS, if it could not be
// registered. Thread-safe.
const char* paced_sync_vfs();

// Starts the write-back of the dirty pages of the open file `fd` one range
// at a time and waits for each before the next (sync_file_range). It does
// not flush the disk's cache: a sync after it still must. False, with
// errno set, when the file cannot be measured or written back.
bool write_back_paced(int fd);

// Syncs of main database files through the VFS so far, for tests.
std::uint64_t paced_syncs();

}  // namespace payd::ledger::sqlite
