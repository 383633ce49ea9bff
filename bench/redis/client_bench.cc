// The Redis client's throughput in redis-benchmark's shape: C connections,
// P commands in flight on each, GET and SET of 3-byte values on random keys
// of a 100,000-key space, for S seconds. Prints ops/s; bench/redis/run puts
// it beside `redis-benchmark -t get,set -c C -P P` on the same server.
//   client_bench redis://127.0.0.1:PORT [connections=8] [pipeline=16] [seconds=5]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/clock.h"
#include "metrics/metrics.h"
#include "redis/client.h"

using namespace payd;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: client_bench redis://HOST:PORT [connections] [pipeline] [seconds]\n");
    return 2;
  }
  int connections = argc > 2 ? std::atoi(argv[2]) : 8;
  int pipeline = argc > 3 ? std::atoi(argv[3]) : 16;
  double seconds = argc > 4 ? std::atof(argv[4]) : 5.0;
  Result<redis::Url> url = redis::parse_url(argv[1]);
  if (!url.ok()) {
    std::fprintf(stderr, "%s\n", url.problem().detail.c_str());
    return 2;
  }
  redis::Options options;
  options.connections = connections;
  options.in_flight_max = pipeline * 4;
  options.deadline_ms = 1000;
  metrics::Registry registry;
  SeededRandom random(42);
  std::unique_ptr<redis::Client> client = redis::make_client(url.value(), options, registry, random);
  for (int i = 0; i < 200 && !client->connected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  std::atomic<bool> running{true};
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<int> outstanding{0};
  // Each chain keeps one command in flight: connections * pipeline chains.
  std::function<void(std::uint64_t)> issue = [&](std::uint64_t n) {
    if (!running) {
      --outstanding;
      return;
    }
    std::string key = "key:" + std::to_string((n * 2654435761u) % 100'000);
    redis::Command command = n % 2 ? redis::Command{"GET", key} : redis::Command{"SET", key, "xxx"};
    client->execute(std::move(command), [&, n](redis::Response response) {
      if (response.ok() && !response.reply->is_error()) {
        ++done;
      } else {
        ++failed;
      }
      issue(n + 7919);
    });
  };
  int chains = connections * pipeline;
  auto start = std::chrono::steady_clock::now();
  outstanding = chains;
  for (int i = 0; i < chains; ++i) issue(static_cast<std::uint64_t>(i));
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  running = false;
  std::uint64_t counted = done.load();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int i = 0; i < 500 && outstanding > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::printf("payd redis client: %d connections x %d in flight, GET/SET: %.0f ops/s (%llu failed)\n", connections,
              pipeline, counted / elapsed, static_cast<unsigned long long>(failed.load()));
  client.reset();
  return failed.load() == 0 ? 0 : 1;
}
