// ClusterClient and its subscriptions (see cluster.h).
//
// A command's journey is a Pending: made when the client takes the command,
// its deadline timer armed at once; dispatched to the node of its slot's
// primary; after a redirect or a failure that may be retried, dispatched
// again (now or after a short delay) until it has an answer or its deadline
// passes. `completed` turns every later event about it into a no-op, so it
// completes exactly once.
//
// Lifetimes: everything runs on the io_context's thread. The handlers of
// timers and node callbacks hold the Pending they are about (shared_ptr)
// and a weak token of the client; they return at once when the command has
// completed or the client is gone. A user callback may do anything, sending
// new commands included, so it is called last, with the client's state
// already consistent.
#include "redis/cluster.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cassert>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "redis/cluster_slots.h"
#include "resilience/backoff.h"

namespace payd::redis {
namespace {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using boost::system::error_code;
using std::chrono::milliseconds;

// Redirects followed per command; a loop of MOVED between two nodes that
// disagree ends there.
constexpr int redirects_max = 5;
// Sends and delayed retries per command, whatever its deadline.
constexpr int attempts_max = 32;
// Retries after -TRYAGAIN, -CLUSTERDOWN or a primary that is down wait a
// full-jitter delay growing from the base to the cap.
constexpr int retry_delay_base_ms = 2;
constexpr int retry_delay_max_ms = 50;
// Map refreshes start at most this often...
constexpr milliseconds refresh_interval_min{100};
// ... and while no node answers, back off up to Options::backoff_max_ms;
// the exponent stops growing here.
constexpr int refresh_failures_max = 16;
// How often the client checks that it has a complete map and that every
// primary's node is connected, refreshing the map when not.
constexpr milliseconds health_interval{100};

static_assert(redirects_max < attempts_max);
static_assert(0 < retry_delay_base_ms && retry_delay_base_ms <= retry_delay_max_ms);

Response failed(Failure::Kind kind, std::string message) {
  return Response{std::nullopt, Failure{kind, std::move(message)}};
}

Response error_reply(std::string text) {
  Reply reply;
  reply.type = Reply::Type::error;
  reply.text = std::move(text);
  return Response{std::move(reply), {}};
}

bool contains(const std::vector<Url::Host>& addresses, const Url::Host& address) {
  return std::any_of(addresses.begin(), addresses.end(),
                     [&](const Url::Host& candidate) { return same_address(candidate, address); });
}

struct Pending {
  explicit Pending(asio::io_context& io) : deadline_timer(io), retry_timer(io) {}

  Command command;
  Callback done;
  Route route;
  int attempts = 0;
  int redirects = 0;
  // Why the command has no answer yet, for when its deadline passes.
  std::optional<Failure> last_failure;
  bool completed = false;
  asio::steady_timer deadline_timer;
  asio::steady_timer retry_timer;
};
using PendingPointer = std::shared_ptr<Pending>;

class ClusterClient final : public Client {
 public:
  ClusterClient(asio::io_context& io, const Url& url, const Options& options, NodeMetrics& metrics, Random& random)
      : io_(io),
        url_(url),
        options_(options),
        metrics_(metrics),
        random_(random),
        refresh_timer_(io),
        health_timer_(io) {
    assert(url.mode == Url::Mode::cluster && !url.hosts.empty());
    arm_health();
    request_refresh();
  }

  ~ClusterClient() override {
    assert(subscriptions_.empty());  // make_client's wrapper destroys them first
    closing_ = true;
    alive_.reset();
    refresh_timer_.cancel();
    health_timer_.cancel();
    std::vector<PendingPointer> live;
    for (auto& entry : live_) live.push_back(entry.second);
    for (PendingPointer& pending : live) {
      complete(pending, failed(Failure::Kind::connection, "the Redis client was closed"));
    }
    waiting_for_map_.clear();
    nodes_.clear();  // their callbacks find their commands completed
  }

  void execute(Command command, Callback done) override {
    Route route = route_command(command);
    if (closing_ || route.kind == Route::Kind::cross_slot || route.kind == Route::Kind::unknown_command) {
      Response refused = closing_ ? failed(Failure::Kind::connection, "the Redis client was closed")
                                  : error_reply(route_error(route, command));
      asio::post(io_, [done = std::move(done), refused = std::move(refused)]() mutable { done(std::move(refused)); });
      return;
    }
    auto pending = std::make_shared<Pending>(io_);
    pending->command = std::move(command);
    pending->done = std::move(done);
    pending->route = route;
    live_.emplace(pending.get(), pending);
    pending->deadline_timer.expires_after(milliseconds(options_.deadline_ms));
    pending->deadline_timer.async_wait([this, alive = token(), pending](error_code error) {
      if (error || pending->completed || alive.expired()) return;
      on_deadline(pending);
    });
    dispatch(pending);
  }

  void execute_all(std::vector<Command> commands, std::function<void(std::vector<Response>)> done) override {
    struct Gathered {
      std::vector<Response> responses;
      std::size_t missing = 0;
      std::function<void(std::vector<Response>)> done;
    };
    if (commands.empty()) {
      asio::post(io_, [done = std::move(done)] { done({}); });
      return;
    }
    auto gathered =
        std::make_shared<Gathered>(Gathered{std::vector<Response>(commands.size()), commands.size(), std::move(done)});
    for (std::size_t i = 0; i < commands.size(); ++i) {
      execute(std::move(commands[i]), [gathered, i](Response response) {
        gathered->responses[i] = std::move(response);
        if (--gathered->missing == 0) gathered->done(std::move(gathered->responses));
      });
    }
  }

  std::unique_ptr<Subscription> subscribe(std::string channel, std::function<void(std::string)> on_message,
                                          std::function<void()> on_resubscribed) override {
    Url::Host address = map_ ? any_primary().value_or(url_.hosts.front()) : url_.hosts.front();
    return std::make_unique<ClusterSubscription>(*this, std::move(address), std::move(channel), std::move(on_message),
                                                 std::move(on_resubscribed));
  }

  bool connected() const override {
    if (!map_ || !map_->complete()) return false;
    for (const Url::Host& primary : map_->primaries()) {
      auto found = nodes_.find(address_text(primary));
      if (found == nodes_.end() || !found->second.node->connected()) return false;
    }
    return true;
  }

  const Options& options() const override { return options_; }

 private:
  // A subscription on one node, moved to another primary when its node
  // leaves the map.
  class ClusterSubscription final : public Subscription {
   public:
    ClusterSubscription(ClusterClient& client, Url::Host address, std::string channel,
                        std::function<void(std::string)> on_message, std::function<void()> on_resubscribed)
        : client_(client),
          address_(address),
          subscriber_(client.io_, std::move(address), client.url_, client.options_, client.metrics_, client.random_,
                      std::move(channel), std::move(on_message), std::move(on_resubscribed)) {
      client_.subscriptions_.insert(this);
    }
    ~ClusterSubscription() override { client_.subscriptions_.erase(this); }

    const Url::Host& address() const { return address_; }
    void retarget(Url::Host address) {
      address_ = address;
      subscriber_.retarget(std::move(address));
    }

   private:
    ClusterClient& client_;
    Url::Host address_;
    Subscriber subscriber_;
  };

  struct NodeEntry {
    std::unique_ptr<Node> node;
    TimePoint created;
  };

  std::weak_ptr<bool> token() const { return alive_; }

  // Sends the command to the primary of its slot; without a map, or while
  // that primary is unknown or down, waits (for the map, or a retry).
  void dispatch(const PendingPointer& pending) {
    if (!map_) {
      wait_for_map(pending);
      return;
    }
    std::optional<Url::Host> primary =
        pending->route.kind == Route::Kind::slot ? optional_primary_of(pending->route.slot) : any_primary();
    if (!primary || node_down(*primary)) {
      std::string why = primary ? "the primary " + address_text(*primary) + " is down"
                        : pending->route.kind == Route::Kind::slot
                            ? "no primary serves slot " + std::to_string(pending->route.slot)
                            : "the slot map names no primary";
      pending->last_failure = Failure{Failure::Kind::connection, std::move(why)};
      request_refresh();
      retry_later(pending);
      return;
    }
    send(pending, *primary, false);
  }

  void wait_for_map(const PendingPointer& pending) {
    if (waiting_for_map_.size() >= static_cast<std::size_t>(options_.in_flight_max)) {
      std::erase_if(waiting_for_map_, [](const PendingPointer& waiting) { return waiting->completed; });
    }
    if (waiting_for_map_.size() >= static_cast<std::size_t>(options_.in_flight_max)) {
      complete(pending, failed(Failure::Kind::overloaded, "more than " + std::to_string(options_.in_flight_max) +
                                                              " commands waiting for the cluster's slot map"));
      return;
    }
    pending->last_failure = Failure{Failure::Kind::connection, "no node of the cluster answered CLUSTER SLOTS"};
    waiting_for_map_.push_back(pending);
    request_refresh();
  }

  void send(const PendingPointer& pending, const Url::Host& address, bool asking) {
    if (++pending->attempts > attempts_max) {
      give_up(pending);
      return;
    }
    Callback on_response = [this, alive = token(), pending, address](Response response) {
      if (pending->completed || alive.expired()) return;
      on_reply(pending, address, std::move(response));
    };
    Node& node = node_for(address);
    if (asking) {
      node.execute_asking(pending->command, std::move(on_response));
    } else {
      node.execute(pending->command, std::move(on_response));
    }
  }

  void on_reply(const PendingPointer& pending, const Url::Host& from, Response response) {
    if (!response.ok()) {
      bool lost = response.failure.kind == Failure::Kind::connection;
      if (lost) request_refresh();
      if (lost && pending->route.resend_safe) {
        pending->last_failure = response.failure;
        retry_later(pending);
        return;
      }
      complete(pending, std::move(response));
      return;
    }
    const Reply& reply = *response.reply;
    if (reply.is_error()) {
      if (std::optional<Redirect> redirect = parse_redirect(reply.text)) {
        follow(pending, from, std::move(*redirect), reply.text);
        return;
      }
      bool cluster_down = reply.text.starts_with("CLUSTERDOWN");
      if (cluster_down || reply.text.starts_with("TRYAGAIN")) {
        pending->last_failure = Failure{Failure::Kind::timeout, "no answer in time; the last: " + reply.text};
        if (cluster_down) request_refresh();
        retry_later(pending);
        return;
      }
    }
    complete(pending, std::move(response));
  }

  void follow(const PendingPointer& pending, const Url::Host& from, Redirect redirect, const std::string& text) {
    if (++pending->redirects > redirects_max) {
      complete(pending, failed(Failure::Kind::redirect,
                               "more than " + std::to_string(redirects_max) + " redirects; the last: " + text));
      return;
    }
    if (redirect.address.host.empty()) redirect.address.host = from.host;
    if (redirect.kind == Redirect::Kind::moved) {
      assert(map_);  // commands are only sent once there is a map
      map_->assign(redirect.slot, redirect.slot, redirect.address);
      request_refresh();
    }
    send(pending, redirect.address, redirect.kind == Redirect::Kind::ask);
  }

  void retry_later(const PendingPointer& pending) {
    if (++pending->attempts > attempts_max) {
      give_up(pending);
      return;
    }
    pending->retry_timer.expires_after(
        resilience::reconnect_delay(pending->attempts, retry_delay_base_ms, retry_delay_max_ms, random_));
    pending->retry_timer.async_wait([this, alive = token(), pending](error_code error) {
      if (error || pending->completed || alive.expired()) return;
      dispatch(pending);
    });
  }

  // The deadline passed: the command completes with what kept it from an
  // answer.
  void on_deadline(const PendingPointer& pending) {
    Failure failure = pending->last_failure.value_or(
        Failure{Failure::Kind::timeout, "no reply within " + std::to_string(options_.deadline_ms) + " ms"});
    complete(pending, Response{std::nullopt, std::move(failure)});
  }

  void give_up(const PendingPointer& pending) {
    Failure failure = pending->last_failure.value_or(Failure{Failure::Kind::timeout, ""});
    failure.message = "gave up after " + std::to_string(attempts_max) + " attempts; " + failure.message;
    complete(pending, Response{std::nullopt, std::move(failure)});
  }

  // By value: the caller's pointer may be the one erased here.
  void complete(PendingPointer pending, Response response) {
    assert(!pending->completed);
    pending->completed = true;
    pending->deadline_timer.cancel();
    pending->retry_timer.cancel();
    live_.erase(pending.get());
    Callback done = std::move(pending->done);
    done(std::move(response));
  }

  std::optional<Url::Host> optional_primary_of(int slot) const {
    const Url::Host* primary = map_->primary_of(slot);
    return primary == nullptr ? std::nullopt : std::optional<Url::Host>(*primary);
  }

  // A random primary, preferring those whose node is up; nullopt when the
  // map has none.
  std::optional<Url::Host> any_primary() {
    std::vector<Url::Host> primaries = map_->primaries();
    std::vector<Url::Host> up;
    std::copy_if(primaries.begin(), primaries.end(), std::back_inserter(up),
                 [this](const Url::Host& primary) { return !node_down(primary); });
    const std::vector<Url::Host>& pool = up.empty() ? primaries : up;
    if (pool.empty()) return std::nullopt;
    return pool[random_.uniform(pool.size())];
  }

  Node& node_for(const Url::Host& address) {
    auto [entry, made] = nodes_.try_emplace(address_text(address));
    if (made) {
      entry->second =
          NodeEntry{std::make_unique<Node>(io_, address, url_, options_, metrics_, random_), SteadyClock::now()};
    }
    return *entry->second.node;
  }

  // A node with no connection up although it has had the connect timeout
  // to open one. A node not made yet is not down: it gets its chance.
  bool node_down(const Url::Host& address) const {
    auto found = nodes_.find(address_text(address));
    if (found == nodes_.end() || found->second.node->connected()) return false;
    return SteadyClock::now() - found->second.created >= milliseconds(options_.connect_timeout_ms);
  }

  // Refreshes the map now, or as soon as the rate limit allows.
  void request_refresh() {
    if (closing_) return;
    refresh_wanted_ = true;
    if (refreshing_ || refresh_scheduled_) return;
    TimePoint now = SteadyClock::now();
    if (now < next_refresh_) {
      refresh_scheduled_ = true;
      refresh_timer_.expires_at(next_refresh_);
      refresh_timer_.async_wait([this, alive = token()](error_code error) {
        if (error || alive.expired()) return;
        refresh_scheduled_ = false;
        request_refresh();
      });
      return;
    }
    refreshing_ = true;
    refresh_wanted_ = false;
    next_refresh_ = now + refresh_interval_min;
    std::vector<Url::Host> candidates = map_ ? map_->primaries() : std::vector<Url::Host>{};
    for (const Url::Host& seed : url_.hosts) {
      if (!contains(candidates, seed)) candidates.push_back(seed);
    }
    ask_for_slots(std::move(candidates), 0);
  }

  // Asks candidates[index] for CLUSTER SLOTS, and the next ones in turn
  // until one answers; the nodes known to be down are skipped.
  void ask_for_slots(std::vector<Url::Host> candidates, std::size_t index) {
    while (index < candidates.size() && node_down(candidates[index])) ++index;
    if (index == candidates.size()) {
      refresh_failed();
      return;
    }
    Url::Host address = candidates[index];
    node_for(address).execute({"CLUSTER", "SLOTS"}, [this, alive = token(), candidates = std::move(candidates),
                                                     index](Response response) mutable {
      if (alive.expired()) return;
      std::string error = response.ok() ? "" : response.failure.message;
      std::optional<SlotMap> map;
      if (response.ok()) map = parse_cluster_slots(*response.reply, candidates[index].host, &error);
      if (!map) {
        ask_for_slots(std::move(candidates), index + 1);
        return;
      }
      apply_map(std::move(*map));
    });
  }

  void refresh_failed() {
    refreshing_ = false;
    milliseconds backoff =
        resilience::reconnect_delay(refresh_failures_, options_.backoff_base_ms, options_.backoff_max_ms, random_);
    refresh_failures_ = std::min(refresh_failures_ + 1, refresh_failures_max);
    next_refresh_ = SteadyClock::now() + std::max(refresh_interval_min, backoff);
    if (!map_ || refresh_wanted_) request_refresh();
  }

  void apply_map(SlotMap map) {
    refreshing_ = false;
    refresh_failures_ = 0;
    map_ = std::move(map);
    std::vector<Url::Host> primaries = map_->primaries();
    for (const Url::Host& primary : primaries) node_for(primary);
    // Nodes that serve no slot go; destroying them fails what they still
    // had in flight, so they are destroyed once the state is consistent.
    std::vector<std::unique_ptr<Node>> dropped;
    for (auto entry = nodes_.begin(); entry != nodes_.end();) {
      if (contains(primaries, entry->second.node->address())) {
        ++entry;
        continue;
      }
      dropped.push_back(std::move(entry->second.node));
      entry = nodes_.erase(entry);
    }
    for (ClusterSubscription* subscription : subscriptions_) {
      if (!contains(primaries, subscription->address()) && !primaries.empty()) {
        subscription->retarget(primaries[random_.uniform(primaries.size())]);
      }
    }
    if (!map_->complete()) refresh_wanted_ = true;
    std::deque<PendingPointer> waiting = std::exchange(waiting_for_map_, {});
    dropped.clear();
    for (const PendingPointer& pending : waiting) {
      if (!pending->completed) dispatch(pending);
    }
    if (refresh_wanted_) request_refresh();
  }

  void arm_health() {
    health_timer_.expires_after(health_interval);
    health_timer_.async_wait([this, alive = token()](error_code error) {
      if (error || alive.expired()) return;
      if (!connected()) request_refresh();
      arm_health();
    });
  }

  asio::io_context& io_;
  Url url_;
  Options options_;
  NodeMetrics& metrics_;
  Random& random_;
  std::optional<SlotMap> map_;
  std::map<std::string, NodeEntry> nodes_;  // by address_text
  std::unordered_map<Pending*, PendingPointer> live_;
  std::deque<PendingPointer> waiting_for_map_;
  std::unordered_set<ClusterSubscription*> subscriptions_;
  asio::steady_timer refresh_timer_;
  asio::steady_timer health_timer_;
  TimePoint next_refresh_{};
  int refresh_failures_ = 0;
  bool refreshing_ = false;
  bool refresh_scheduled_ = false;
  bool refresh_wanted_ = false;
  bool closing_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // expires with the client, for handlers
};

}  // namespace

std::unique_ptr<Client> make_cluster_client(asio::io_context& io, const Url& url, const Options& options,
                                            NodeMetrics& metrics, Random& random) {
  return std::make_unique<ClusterClient>(io, url, options, metrics, random);
}

}  // namespace payd::redis
