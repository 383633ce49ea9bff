// PaydSyncs: how many of payd's WAL syncs were slow during a run, read from
// its /metrics (payd_ledger_durable_seconds, kept by a SQLite payd with the
// pipelined sync; other ledgers have no such step and no such histogram).
//
// Why: an open-loop run's p99 follows the disk's sync stalls, which come
// and go within minutes. The counts from the run itself say whether a slow
// run had slow syncs, where a probe of the disk before it can only hint.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace payd::bench {

struct PaydSyncs {
  std::int64_t syncs = 0;
  std::int64_t over_2_5ms = 0;
  std::int64_t over_10ms = 0;
};

// The counts since payd started, from the text of its /metrics; nullopt
// when the histogram (its count and its 2.5 ms and 10 ms buckets) is not
// there.
std::optional<PaydSyncs> parse_payd_syncs(std::string_view metrics_text);

// The syncs between two readings of the same payd (`later` minus
// `earlier`).
PaydSyncs syncs_between(const PaydSyncs& earlier, const PaydSyncs& later);

}  // namespace payd::bench
