// Placeholder until the Cluster client lands: make_client refuses
// redis-cluster:// URLs.
#include "redis/cluster.h"

namespace payd::redis {

std::unique_ptr<Client> make_cluster_client(boost::asio::io_context&, const Url&, const Options&, NodeMetrics&,
                                            Random&) {
  return nullptr;
}

}  // namespace payd::redis
