// make_client and the clients it builds (see client.h).
//
// Pieces, in the order of this file:
//   Client::call, call_all   the blocking helpers, bounded by the deadline.
//   gather                   execute_all on top of per-command callbacks.
//   SingleClient             one Node.
//   SentinelClient           one Node retargeted at whatever the Sentinels
//                            say the master is.
//   ThreadedClient           what make_client returns: owns the event loop
//                            thread and hands every call to one of the
//                            clients above (or the Cluster client) on it.
//
// The clients above ThreadedClient run on the event loop thread only, like
// the Nodes they are built from.
#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cassert>
#include <charconv>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "core/thread_name.h"
#include "redis/cluster.h"
#include "redis/node.h"
#include "resilience/backoff.h"

namespace payd::redis {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// The blocking helpers wait this much longer than the deadline, for the
// sweep and the hop between threads.
constexpr auto blocking_slack = std::chrono::milliseconds(20);
// How often the Sentinel client checks that it has a master, besides the
// checks that failed commands and +switch-master messages trigger.
constexpr auto sentinel_check_interval = std::chrono::milliseconds(1000);
// Discovery rounds start at most this often.
constexpr auto sentinel_round_interval_min = std::chrono::milliseconds(100);
// The series label of make_client's clients.
constexpr const char* metrics_client_label = "cache";

// True on the event loop thread of any client (set once by its thread).
thread_local bool on_client_thread = false;

using GatherDone = std::function<void(std::vector<Response>)>;

// One request per command; `done` gets every response, in order, once the
// last one arrives.
std::vector<Node::Request> gather(std::vector<Command> commands, GatherDone done) {
  assert(!commands.empty());
  struct Gathered {
    std::vector<Response> responses;
    std::size_t missing;
    GatherDone done;
  };
  auto gathered = std::make_shared<Gathered>(Gathered{std::vector<Response>(commands.size()), commands.size(),
                                                      std::move(done)});
  std::vector<Node::Request> requests;
  requests.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    requests.push_back(Node::Request{std::move(commands[i]), [gathered, i](Response response) {
                                       gathered->responses[i] = std::move(response);
                                       if (--gathered->missing == 0) gathered->done(std::move(gathered->responses));
                                     }});
  }
  return requests;
}

class NodeSubscription final : public Subscription {
 public:
  explicit NodeSubscription(std::unique_ptr<Subscriber> subscriber) : subscriber_(std::move(subscriber)) {}

 private:
  std::unique_ptr<Subscriber> subscriber_;
};

class SingleClient final : public Client {
 public:
  SingleClient(asio::io_context& io, const Url& url, const Options& options, NodeMetrics& metrics, Random& random)
      : io_(io), url_(url), options_(options), metrics_(metrics), random_(random),
        node_(io, url.hosts.at(0), url, options, metrics, random) {}

  void execute(Command command, Callback done) override { node_.execute(std::move(command), std::move(done)); }

  void execute_all(std::vector<Command> commands, GatherDone done) override {
    node_.execute_all(gather(std::move(commands), std::move(done)));
  }

  std::unique_ptr<Subscription> subscribe(std::string channel, std::function<void(std::string)> on_message,
                                          std::function<void()> on_resubscribed) override {
    return std::make_unique<NodeSubscription>(std::make_unique<Subscriber>(
        io_, node_.address(), url_, options_, metrics_, random_, std::move(channel), std::move(on_message),
        std::move(on_resubscribed)));
  }

  bool connected() const override { return node_.connected(); }
  const Options& options() const override { return options_; }

 private:
  asio::io_context& io_;
  Url url_;
  Options options_;
  NodeMetrics& metrics_;
  Random& random_;
  Node node_;
};

// The master's address from a SENTINEL get-master-addr-by-name reply
// ([host, port]); nullopt for anything else (nil: the name is unknown).
std::optional<Url::Host> master_address(const Response& response) {
  if (!response.ok() || response.reply->type != Reply::Type::array || response.reply->elements.size() != 2) {
    return std::nullopt;
  }
  const std::string& host = response.reply->elements[0].text;
  const std::string& port = response.reply->elements[1].text;
  int number = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (host.empty() || error != std::errc() || end != port.data() + port.size() || number < 1 || number > 65535) {
    return std::nullopt;
  }
  return Url::Host{host, static_cast<std::uint16_t>(number)};
}

// A Node pointed at the master the Sentinels name. Discovery asks the
// Sentinels in turn (the last one that answered first), then checks with
// ROLE that the server is a master. It runs again when a command fails for
// want of a connection or gets -READONLY (the master was demoted), when a
// Sentinel announces +switch-master, and every sentinel_check_interval while
// the master is not connected. Sentinels are reached without credentials:
// the URL's are the master's.
class SentinelClient final : public Client {
 public:
  SentinelClient(asio::io_context& io, const Url& url, const Options& options, NodeMetrics& metrics,
                 NodeMetrics& sentinel_metrics, Random& random)
      : io_(io), url_(url), options_(options), metrics_(metrics), random_(random),
        master_(std::make_unique<Node>(io, Url::Host{"", 0}, url, options, metrics, random)), check_timer_(io),
        round_timer_(io) {
    Url sentinel_url = url;
    sentinel_url.user.clear();
    sentinel_url.password.clear();
    sentinel_url.db = 0;
    Options sentinel_options = options;
    sentinel_options.connections = 1;
    // The first question waits for the connection.
    sentinel_options.deadline_ms = std::max(options.deadline_ms, options.connect_timeout_ms);
    for (const Url::Host& host : url.hosts) {
      sentinels_.push_back(std::make_unique<Node>(io, host, sentinel_url, sentinel_options, sentinel_metrics, random));
      switch_subscribers_.push_back(std::make_unique<Subscriber>(
          io, host, sentinel_url, sentinel_options, sentinel_metrics, random, "+switch-master",
          [this](std::string message) { on_switch_master(message); }, [this] { discover(); }));
    }
    arm_check();
    discover();
  }

  ~SentinelClient() override {
    // Destroying the nodes calls back; the callbacks see closing_.
    closing_ = true;
    check_timer_.cancel();
    round_timer_.cancel();
    switch_subscribers_.clear();
    sentinels_.clear();
    master_.reset();
    assert(user_subscribers_.empty());
  }

  void execute(Command command, Callback done) override {
    master_->execute(std::move(command), watch(std::move(done)));
  }

  void execute_all(std::vector<Command> commands, GatherDone done) override {
    std::vector<Node::Request> requests = gather(std::move(commands), std::move(done));
    for (Node::Request& request : requests) request.done = watch(std::move(request.done));
    master_->execute_all(std::move(requests));
  }

  std::unique_ptr<Subscription> subscribe(std::string channel, std::function<void(std::string)> on_message,
                                          std::function<void()> on_resubscribed) override {
    return std::make_unique<MasterSubscription>(*this, std::move(channel), std::move(on_message),
                                                std::move(on_resubscribed));
  }

  bool connected() const override { return master_->connected(); }
  const Options& options() const override { return options_; }

 private:
  // A subscription on the master, moved along with it.
  class MasterSubscription final : public Subscription {
   public:
    MasterSubscription(SentinelClient& client, std::string channel, std::function<void(std::string)> on_message,
                       std::function<void()> on_resubscribed)
        : client_(client),
          subscriber_(client.io_, client.master_->address(), client.url_, client.options_, client.metrics_,
                      client.random_, std::move(channel), std::move(on_message), std::move(on_resubscribed)) {
      client_.user_subscribers_.insert(&subscriber_);
    }
    ~MasterSubscription() override { client_.user_subscribers_.erase(&subscriber_); }

   private:
    SentinelClient& client_;
    Subscriber subscriber_;
  };

  // Forwards the response, after noting whether it says the master is gone.
  Callback watch(Callback done) {
    return [this, done = std::move(done)](Response response) {
      bool lost = !response.ok() && response.failure.kind == Failure::Kind::connection;
      bool demoted = response.ok() && response.reply->is_error() && response.reply->text.starts_with("READONLY");
      if ((lost || demoted) && !closing_) discover();
      done(std::move(response));
    };
  }

  void arm_check() {
    check_timer_.expires_after(sentinel_check_interval);
    check_timer_.async_wait([this](error_code error) {
      if (error || closing_) return;
      if (!master_->connected()) discover();
      arm_check();
    });
  }

  // Starts a discovery round unless one is running or scheduled; rounds are
  // at least sentinel_round_interval_min apart.
  void discover() {
    if (closing_ || discovering_ || round_scheduled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now < last_round_ + sentinel_round_interval_min) {
      schedule_round(last_round_ + sentinel_round_interval_min - now);
      return;
    }
    discovering_ = true;
    last_round_ = now;
    ask(0);
  }

  void schedule_round(std::chrono::steady_clock::duration delay) {
    round_scheduled_ = true;
    round_timer_.expires_after(delay);
    round_timer_.async_wait([this](error_code error) {
      if (error || closing_) return;
      round_scheduled_ = false;
      discover();
    });
  }

  // Asks the `tried`-th Sentinel after the preferred one.
  void ask(std::size_t tried) {
    if (tried == sentinels_.size()) {
      discovering_ = false;
      retry_later();
      return;
    }
    std::size_t index = (preferred_ + tried) % sentinels_.size();
    sentinels_[index]->execute({"SENTINEL", "get-master-addr-by-name", url_.master_name},
                               [this, tried, index](Response response) {
                                 if (closing_) return;
                                 std::optional<Url::Host> address = master_address(response);
                                 if (!address) {
                                   ask(tried + 1);
                                   return;
                                 }
                                 preferred_ = index;
                                 discovering_ = false;
                                 use_master(*address);
                               });
  }

  void retry_later() {
    schedule_round(
        resilience::reconnect_delay(attempt_, options_.backoff_base_ms, options_.backoff_max_ms, random_));
    ++attempt_;
  }

  void use_master(const Url::Host& address) {
    master_->retarget(address);
    for (Subscriber* subscriber : user_subscribers_) subscriber->retarget(address);
    master_->execute({"ROLE"}, [this](Response response) {
      if (closing_) return;
      bool is_master = response.ok() && response.reply->type == Reply::Type::array &&
                       !response.reply->elements.empty() && response.reply->elements[0].text == "master";
      if (is_master) {
        attempt_ = 0;
        return;
      }
      // Not (yet) the master, or unreachable: ask again after a while,
      // and serve nothing from a replica meanwhile.
      if (response.ok()) master_->retarget(Url::Host{"", 0});
      retry_later();
    });
  }

  // "<master name> <old ip> <old port> <new ip> <new port>"
  void on_switch_master(const std::string& message) {
    std::vector<std::string> words;
    std::size_t start = 0;
    while (start <= message.size() && words.size() < 6) {
      std::size_t space = std::min(message.find(' ', start), message.size());
      words.push_back(message.substr(start, space - start));
      start = space + 1;
    }
    if (words.size() != 5 || words[0] != url_.master_name) return;
    Reply host{Reply::Type::bulk, words[3], 0, {}};
    Reply port{Reply::Type::bulk, words[4], 0, {}};
    Reply pair{Reply::Type::array, "", 0, {host, port}};
    if (std::optional<Url::Host> address = master_address(Response{pair, {}})) use_master(*address);
  }

  asio::io_context& io_;
  Url url_;
  Options options_;
  NodeMetrics& metrics_;
  Random& random_;
  std::unique_ptr<Node> master_;
  std::vector<std::unique_ptr<Node>> sentinels_;
  std::vector<std::unique_ptr<Subscriber>> switch_subscribers_;
  std::unordered_set<Subscriber*> user_subscribers_;
  asio::steady_timer check_timer_;
  asio::steady_timer round_timer_;
  std::chrono::steady_clock::time_point last_round_{};
  std::size_t preferred_ = 0;
  int attempt_ = 0;
  bool discovering_ = false;
  bool round_scheduled_ = false;
  bool closing_ = false;
};

// What make_client returns: the event loop thread, and a client of the
// kinds above used on it only. Calls hop onto the thread by post, so
// callbacks never run inside a call.
class ThreadedClient final : public Client {
 public:
  ThreadedClient(const Url& url, const Options& options, metrics::Registry& registry, Random& random)
      : options_(options), metrics_(make_node_metrics(registry, metrics_client_label)),
        sentinel_metrics_(make_node_metrics(registry, std::string(metrics_client_label) + "_sentinel")),
        work_(asio::make_work_guard(io_)) {
    switch (url.mode) {
      case Url::Mode::single: inner_ = std::make_unique<SingleClient>(io_, url, options, *metrics_, random); break;
      case Url::Mode::sentinel:
        inner_ = std::make_unique<SentinelClient>(io_, url, options, *metrics_, *sentinel_metrics_, random);
        break;
      case Url::Mode::cluster: inner_ = make_cluster_client(io_, url, options, *metrics_, random); break;
    }
    lifetime_->io = &io_;
    refresh_snapshot();
    thread_ = std::thread([this] {
      name_this_thread("redis-client");
      on_client_thread = true;
      io_.run();
    });
  }

  ~ThreadedClient() override {
    assert(std::this_thread::get_id() != thread_.get_id());
    {
      std::lock_guard lock(lifetime_->mutex);
      lifetime_->io = nullptr;
    }
    // Subscriptions first (a Sentinel client moves them), then the client;
    // then the loop runs what is left (cancelled operations) and returns.
    asio::post(io_, [this] {
      snapshot_timer_.cancel();
      for (const auto& weak : subscriptions_) {
        if (auto subscription = weak.lock()) subscription->reset();
      }
      inner_.reset();
    });
    work_.reset();
    thread_.join();
  }

  bool valid() const { return inner_ != nullptr; }

  // On the event loop: brings connected_snapshot_ up to date, after every
  // answer and every 10 ms.
  void note_connection() {
    if (inner_) connected_snapshot_.store(inner_->connected(), std::memory_order_relaxed);
  }

  // Keeps connected_snapshot_ current, on the event loop, until the client
  // is destroyed (the timer is cancelled with the loop's work).
  void refresh_snapshot() {
    snapshot_timer_.expires_after(std::chrono::milliseconds(10));
    snapshot_timer_.async_wait([this](boost::system::error_code error) {
      if (error || !inner_) return;
      note_connection();
      refresh_snapshot();
    });
  }

  void execute(Command command, Callback done) override {
    asio::post(io_, [this, command = std::move(command), done = std::move(done)]() mutable {
      if (!inner_) {
        done(closed());
        return;
      }
      inner_->execute(std::move(command), [this, done = std::move(done)](Response response) {
        note_connection();
        done(std::move(response));
      });
    });
  }

  void execute_all(std::vector<Command> commands, GatherDone done) override {
    asio::post(io_, [this, commands = std::move(commands), done = std::move(done)]() mutable {
      if (commands.empty() || !inner_) {
        done(std::vector<Response>(commands.size(), closed()));
        return;
      }
      inner_->execute_all(std::move(commands), [this, done = std::move(done)](std::vector<Response> responses) {
        note_connection();
        done(std::move(responses));
      });
    });
  }

  std::unique_ptr<Subscription> subscribe(std::string channel, std::function<void(std::string)> on_message,
                                          std::function<void()> on_resubscribed) override {
    auto inner = std::make_shared<std::unique_ptr<Subscription>>();
    asio::post(io_, [this, inner, channel = std::move(channel), on_message = std::move(on_message),
                     on_resubscribed = std::move(on_resubscribed)]() mutable {
      if (!inner_) return;
      *inner = inner_->subscribe(std::move(channel), std::move(on_message), std::move(on_resubscribed));
      std::erase_if(subscriptions_, [](const auto& weak) { return weak.expired(); });
      subscriptions_.push_back(inner);
    });
    return std::make_unique<Handle>(lifetime_, std::move(inner));
  }

  // On the event loop, the live answer; elsewhere a snapshot the loop
  // refreshes after every answer and every 10 ms, so hot paths may ask
  // without a thread hop.
  bool connected() const override {
    if (std::this_thread::get_id() == thread_.get_id()) return inner_->connected();
    return connected_snapshot_.load(std::memory_order_relaxed);
  }

  const Options& options() const override { return options_; }

 private:
  // For what is handed to the loop while the client is being destroyed.
  static Response closed() {
    return Response{std::nullopt, Failure{Failure::Kind::connection, "the Redis client was closed"}};
  }

  // Whether the client is still there for a Subscription handle to post to.
  struct Lifetime {
    std::mutex mutex;
    asio::io_context* io = nullptr;
  };

  // The caller's side of a subscription: destroying it destroys the inner
  // one on the event loop, if the client is still alive.
  class Handle final : public Subscription {
   public:
    Handle(std::shared_ptr<Lifetime> lifetime, std::shared_ptr<std::unique_ptr<Subscription>> inner)
        : lifetime_(std::move(lifetime)), inner_(std::move(inner)) {}
    ~Handle() override {
      std::lock_guard lock(lifetime_->mutex);
      if (lifetime_->io != nullptr) asio::post(*lifetime_->io, [inner = std::move(inner_)] { inner->reset(); });
    }

   private:
    std::shared_ptr<Lifetime> lifetime_;
    std::shared_ptr<std::unique_ptr<Subscription>> inner_;
  };

  Options options_;
  std::unique_ptr<NodeMetrics> metrics_;
  std::unique_ptr<NodeMetrics> sentinel_metrics_;
  mutable asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<Client> inner_;
  std::vector<std::weak_ptr<std::unique_ptr<Subscription>>> subscriptions_;  // event loop thread only
  std::shared_ptr<Lifetime> lifetime_ = std::make_shared<Lifetime>();
  asio::steady_timer snapshot_timer_{io_};
  std::atomic<bool> connected_snapshot_{false};
  std::thread thread_;
};

}  // namespace

Response Client::call(Command command) {
  std::vector<Command> commands;
  commands.push_back(std::move(command));
  return std::move(call_all(std::move(commands)).front());
}

std::vector<Response> Client::call_all(std::vector<Command> commands) {
  assert(!on_client_thread);
  struct Shared {
    std::mutex mutex;
    std::condition_variable answered;
    std::optional<std::vector<Response>> responses;
  };
  auto shared = std::make_shared<Shared>();
  std::size_t count = commands.size();
  execute_all(std::move(commands), [shared](std::vector<Response> responses) {
    std::lock_guard lock(shared->mutex);
    shared->responses = std::move(responses);
    shared->answered.notify_one();
  });
  std::unique_lock lock(shared->mutex);
  auto wait = std::chrono::milliseconds(options().deadline_ms) + blocking_slack;
  if (shared->answered.wait_for(lock, wait, [&] { return shared->responses.has_value(); })) {
    return std::move(*shared->responses);
  }
  Response late{std::nullopt, Failure{Failure::Kind::timeout, "no reply within the deadline"}};
  return std::vector<Response>(count, late);
}

std::unique_ptr<Client> make_client(const Url& url, Options options, metrics::Registry& registry, Random& random) {
  auto client = std::make_unique<ThreadedClient>(url, options, registry, random);
  if (!client->valid()) return nullptr;
  return client;
}

}  // namespace payd::redis
