// The Redis Cluster client: hash slots, redirects, one Node per primary.
//
// Internal to src/redis. make_client (client.cc) owns the io_context and
// its thread and wraps the returned Client: every member of that Client is
// called on the io_context's thread, and it is destroyed there too, after
// its subscriptions.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "redis/client.h"
#include "redis/node.h"

namespace payd::redis {

// `url.mode` is Url::Mode::cluster; `url.hosts` are the seeds. `metrics` and
// `random` outlive the client. nullptr when Cluster is not built in.
std::unique_ptr<Client> make_cluster_client(boost::asio::io_context& io, const Url& url, const Options& options,
                                            NodeMetrics& metrics, Random& random);

}  // namespace payd::redis
