// The Redis Cluster client: hash slots, redirects, one Node per primary.
//
// Internal to src/redis. make_client (client.cc) owns the io_context and
// its thread and wraps the returned Client: every member of that Client is
// called on the io_context's thread, and it is destroyed there too, after
// its subscriptions.
//
// How it keeps the guarantees of client.h in a cluster:
//   - The slot map comes from CLUSTER SLOTS, asked of the known primaries
//     and then of the URL's seed hosts, one at a time, until one answers.
//     Commands that arrive before the first map wait for it (as many as
//     Options::in_flight_max; beyond that they fail with
//     Failure::overloaded), within their deadline.
//   - Each command goes to the primary of its key's slot (cluster_slots.h
//     says which arguments are keys; keys in different slots, or a command
//     whose keys it does not know, complete at once with an error reply and
//     are never sent). Keyless commands go to any primary.
//   - -MOVED points the slot at the named node, resends the command there
//     and asks for a full refresh of the map. -ASK resends the command to
//     the named node after ASKING, leaving the map alone. At most
//     redirects_max redirects per command: past that it fails with
//     Failure::redirect.
//   - -TRYAGAIN (keys of a slot being migrated) and -CLUSTERDOWN are
//     retried after a short, growing, jittered delay; -CLUSTERDOWN and a
//     primary that is down (no connection after the connect timeout) also
//     refresh the map, since after a failover a replica is the new primary.
//   - A command whose connection broke after it was written may or may not
//     have run. It is resent only when running it twice is harmless
//     (Route::resend_safe: GET, SET, DEL, EXPIRE ...); INCR, GETDEL, EVAL
//     and PUBLISH complete with that Failure::connection instead.
//   - Every command completes exactly once, by its deadline
//     (Options::deadline_ms from when the client takes it) whatever
//     redirects, retries and refreshes happen meanwhile: at the deadline it
//     completes with the last failure it met (Failure::connection when its
//     primary was unreachable), else Failure::timeout.
//   - Refreshes of the map are rate-limited (one at a time, starting at most
//     once per refresh_interval_min, with backoff while no node answers), so
//     a burst of MOVED replies or an unreachable cluster does not turn into a
//     burst of CLUSTER SLOTS.
//   - Nodes are made for every primary of a new map (and for seeds while
//     asking them); a node that no longer serves slots is dropped, failing
//     what it still had in flight with Failure::connection (resent, where
//     that is safe, to the new owner).
//   - connected() is true when a complete slot map is loaded and the node of
//     every primary in it has a connection up.
//   - subscribe() uses one primary: Redis Cluster forwards every PUBLISH to
//     every node. The subscription moves to another primary when its node
//     leaves the map (a failover).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "redis/client.h"
#include "redis/node.h"

namespace payd::redis {

// `url.mode` is Url::Mode::cluster; `url.hosts` are the seeds (at least
// one). `metrics` and `random` outlive the client.
std::unique_ptr<Client> make_cluster_client(boost::asio::io_context& io, const Url& url, const Options& options,
                                            NodeMetrics& metrics, Random& random);

}  // namespace payd::redis
