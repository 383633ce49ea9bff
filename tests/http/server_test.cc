// Server tests: a real server on a loopback port with a fake handler,
// driven by the blocking test client.
#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/json_writer.h"
#include "tests/support/http_client.h"

namespace payd::http {
namespace {

using payd::testing::HttpClient;
using payd::testing::HttpResponse;
using namespace std::chrono_literals;

// Routes:  /hold   keeps the Respond until release_held()
//          /slow   answers from another thread after 50 ms
//          /drop   drops the Respond without answering
//          /throw  throws
//          /none   404 without a route
//          else    echoes the request as JSON, route "<METHOD> <path>"
class FakeHandler final : public Handler {
 public:
  ~FakeHandler() override {
    release_held();
    std::lock_guard lock(mutex_);
    for (std::thread& worker : workers_) worker.join();
  }

  void handle(Request request, Respond respond) override {
    if (request.path == "/hold") {
      std::lock_guard lock(mutex_);
      held_.emplace_back(std::move(request), std::move(respond));
      held_changed_.notify_all();
    } else if (request.path == "/slow") {
      std::lock_guard lock(mutex_);
      workers_.emplace_back([request = std::move(request), respond = std::move(respond)] {
        std::this_thread::sleep_for(50ms);
        respond(echo(request));
      });
    } else if (request.path == "/drop") {
      return;
    } else if (request.path == "/throw") {
      throw std::runtime_error("fake handler failure");
    } else if (request.path == "/none") {
      Response response;
      response.status = 404;
      response.body = "{}";
      respond(std::move(response));
    } else {
      respond(echo(request));
    }
  }

  static Response echo(const Request& request) {
    Response response;
    JsonWriter json(response.body);
    json.begin_object()
        .member("method", request.method)
        .member("path", request.path)
        .member("query", request.query)
        .member("content_type", request.content_type)
        .member("idempotency_key", request.idempotency_key.value_or("-"))
        .member("request_id", request.request_id)
        .member("body_bytes", static_cast<std::int64_t>(request.body.size()))
        .end_object();
    response.route = request.method + " " + request.path;
    response.headers.push_back({"X-Echo", "yes"});
    return response;
  }

  bool wait_held(std::size_t count) {
    std::unique_lock lock(mutex_);
    return held_changed_.wait_for(lock, 2s, [&] { return held_.size() >= count; });
  }

  void release_held() {
    std::vector<std::pair<Request, Respond>> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    for (auto& [request, respond] : held) respond(echo(request));
  }

 private:
  std::mutex mutex_;
  std::condition_variable held_changed_;
  std::vector<std::pair<Request, Respond>> held_;
  std::vector<std::thread> workers_;
};

class ServerTest : public ::testing::Test {
 protected:
  void start_server(Server::Options options = {}) {
    options.port = 0;
    if (!capture_log_) options.access_log = false;
    server_ = std::make_unique<Server>(options, handler_, registry_, clock_, ids_);
    server_->set_on_shutdown([this] { shutdown_hook_calls_++; });
    Result<std::uint16_t> port = server_->start();
    ASSERT_TRUE(port.ok()) << port.problem().detail;
    port_ = *port;
    runner_ = std::thread([this] { server_->run(); });
  }

  void stop_server() {
    if (!runner_.joinable()) return;
    server_->stop();
    runner_.join();
  }

  void TearDown() override { stop_server(); }

  FakeHandler handler_;  // outlives the server: late answers go to a destroyed server
  metrics::Registry registry_;
  SystemClock clock_;
  SeededRandom random_;
  IdGenerator ids_{clock_, random_};
  std::unique_ptr<Server> server_;
  std::thread runner_;
  std::uint16_t port_ = 0;
  std::atomic<int> shutdown_hook_calls_{0};
  bool capture_log_ = false;
};

std::string problem_code(const HttpResponse& response) {
  std::size_t at = response.body.find("\"code\":\"");
  if (at == std::string::npos) return {};
  at += 8;
  return response.body.substr(at, response.body.find('"', at) - at);
}

TEST_F(ServerTest, AnswersTwoRequestsOnOneKeepAliveConnection) {
  start_server();
  HttpClient client(port_);
  HttpResponse first = client.request("GET", "/v1/things?limit=2");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.header("content-type"), "application/json");
  EXPECT_EQ(first.header("x-echo"), "yes");
  EXPECT_NE(first.body.find("\"method\":\"GET\",\"path\":\"/v1/things\",\"query\":\"limit=2\""), std::string::npos);
  EXPECT_EQ(first.header("connection"), "");

  HttpResponse second = client.request("POST", "/v1/transfers", "{\"amount\":1}", {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(second.status, 200);
  EXPECT_NE(second.body.find("\"content_type\":\"application/json\""), std::string::npos);
  EXPECT_NE(second.body.find("\"idempotency_key\":\"k-1\""), std::string::npos);
  EXPECT_NE(second.body.find("\"body_bytes\":12"), std::string::npos);
  EXPECT_EQ(second.header("content-length"), std::to_string(second.body.size()));
  EXPECT_NE(registry_.render().find("payd_http_connections 1\n"), std::string::npos);
}

TEST_F(ServerTest, GivesEveryRequestAFreshRequestId) {
  start_server();
  HttpClient client(port_);
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    HttpResponse response = client.request("GET", "/x");
    std::string id = response.header("x-request-id");
    EXPECT_TRUE(is_id_of(IdType::request, id)) << id;
    EXPECT_NE(response.body.find("\"request_id\":\"" + id + "\""), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 5u);
}

TEST_F(ServerTest, DeliversAResponseGivenLaterFromAnotherThread) {
  start_server({.threads = 2});
  HttpClient client(port_);
  auto started = std::chrono::steady_clock::now();
  HttpResponse response = client.request("POST", "/slow", "{}");
  EXPECT_EQ(response.status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 45ms);
  EXPECT_EQ(client.request("GET", "/after").status, 200);  // the connection is still usable
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  start_server();
  HttpClient client(port_);
  HttpResponse first = client.send_raw(
      "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET /fast HTTP/1.1\r\nHost: a\r\n\r\n");
  HttpResponse second = client.read_response();
  EXPECT_NE(first.body.find("\"path\":\"/slow\""), std::string::npos);
  EXPECT_NE(second.body.find("\"path\":\"/fast\""), std::string::npos);
}

TEST_F(ServerTest, RefusesABodyOverTheLimitWith413) {
  start_server();
  HttpClient client(port_);
  HttpResponse response = client.request("POST", "/v1/transfers", std::string(65 * 1024, 'x'));
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.header("content-type"), "application/problem+json");
  EXPECT_EQ(problem_code(response), "payload_too_large");
  EXPECT_EQ(response.header("connection"), "close");
  EXPECT_NE(response.body.find("\"request_id\":\"" + response.header("x-request-id") + "\""), std::string::npos);
  EXPECT_EQ(client.request("POST", "/v1/transfers", std::string(64 * 1024, 'x')).status, 200);
}

TEST_F(ServerTest, RefusesHeadersOverTheLimitWith431) {
  start_server();
  HttpClient client(port_);
  HttpResponse response = client.request("GET", "/x", "", {{"X-Big", std::string(9 * 1024, 'h')}});
  EXPECT_EQ(response.status, 431);
  EXPECT_EQ(problem_code(response), "headers_too_large");
}

TEST_F(ServerTest, RefusesMalformedRequestsWith400) {
  start_server();
  HttpClient client(port_);
  HttpResponse response = client.send_raw("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.header("content-type"), "application/problem+json");
  EXPECT_EQ(problem_code(response), "invalid_request");
  EXPECT_TRUE(client.wait_closed_by_server(1000));
}

TEST_F(ServerTest, AnswersAnIncompleteRequestWith408AfterTheRequestTimeout) {
  start_server({.request_timeout_ms = 200});
  HttpClient client(port_);
  auto started = std::chrono::steady_clock::now();
  HttpResponse response = client.send_raw("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(response.status, 408);
  EXPECT_EQ(problem_code(response), "request_timeout");
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 1500ms);
  EXPECT_TRUE(client.wait_closed_by_server(1000));
}

TEST_F(ServerTest, ClosesAnIdleKeepAliveConnection) {
  start_server({.idle_timeout_ms = 200});
  HttpClient client(port_);
  ASSERT_EQ(client.request("GET", "/x").status, 200);
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.wait_closed_by_server(2000));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 150ms);
  EXPECT_EQ(client.request("GET", "/x").status, 200);  // the client reconnects
}

TEST_F(ServerTest, ShedsWith503BeyondTheInFlightLimit) {
  start_server({.threads = 2, .in_flight_max = 1});
  std::future<HttpResponse> held = std::async(std::launch::async, [this] {
    HttpClient client(port_);
    return client.request("POST", "/hold", "{}");
  });
  ASSERT_TRUE(handler_.wait_held(1));
  HttpClient client(port_);
  HttpResponse shed = client.request("POST", "/v1/transfers", "{}");
  EXPECT_EQ(shed.status, 503);
  EXPECT_EQ(shed.header("retry-after"), "1");
  EXPECT_EQ(problem_code(shed), "overloaded");
  handler_.release_held();
  EXPECT_EQ(held.get().status, 200);
  EXPECT_EQ(client.request("GET", "/x").status, 200);  // admitted again
  EXPECT_NE(registry_.render().find("payd_http_shed_total 1\n"), std::string::npos);
}

TEST_F(ServerTest, CountsRequestsByRouteAndStatus) {
  start_server();
  HttpClient client(port_);
  client.request("POST", "/v1/transfers", "{}");
  client.request("GET", "/none");
  std::string rendered = registry_.render();
  EXPECT_NE(rendered.find("payd_http_requests_total{route=\"POST /v1/transfers\",status=\"200\"} 1\n"),
            std::string::npos);
  EXPECT_NE(rendered.find("payd_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(rendered.find("payd_http_request_duration_seconds_count{route=\"POST /v1/transfers\"} 1\n"),
            std::string::npos);
  EXPECT_NE(rendered.find("payd_http_in_flight 0\n"), std::string::npos);
}

TEST_F(ServerTest, AnswersInternalErrorWhenTheHandlerDropsOrThrows) {
  start_server();
  HttpClient client(port_);
  HttpResponse dropped = client.request("GET", "/drop");
  EXPECT_EQ(dropped.status, 500);
  EXPECT_EQ(problem_code(dropped), "internal_error");
  EXPECT_EQ(client.request("GET", "/throw").status, 500);
  EXPECT_EQ(client.request("GET", "/x").status, 200);
}

TEST_F(ServerTest, ClosesAfterAnHttp10RequestWithoutKeepAlive) {
  start_server();
  HttpClient client(port_);
  HttpResponse response = client.send_raw("GET /x HTTP/1.0\r\n\r\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("connection"), "close");
  EXPECT_TRUE(client.wait_closed_by_server(1000));
}

TEST_F(ServerTest, HonoursConnectionClose) {
  start_server();
  HttpClient client(port_);
  HttpResponse response = client.request("GET", "/x", "", {{"Connection", "close"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("connection"), "close");
}

TEST_F(ServerTest, StopLetsARequestInTheHandlerFinish) {
  start_server({.threads = 2});
  HttpClient idle(port_);
  ASSERT_EQ(idle.request("GET", "/x").status, 200);
  std::future<HttpResponse> held = std::async(std::launch::async, [this] {
    HttpClient client(port_);
    return client.request("POST", "/hold", "{}");
  });
  ASSERT_TRUE(handler_.wait_held(1));
  server_->stop();
  EXPECT_TRUE(idle.wait_closed_by_server(1000));  // idle keep-alive connections close at once
  std::this_thread::sleep_for(50ms);
  handler_.release_held();
  HttpResponse response = held.get();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("connection"), "close");
  runner_.join();
  EXPECT_EQ(shutdown_hook_calls_.load(), 1);
}

TEST_F(ServerTest, StopGivesUpOnAHeldRequestAfterTheGracePeriod) {
  start_server({.shutdown_grace_ms = 100});
  std::future<HttpResponse> held = std::async(std::launch::async, [this] {
    HttpClient client(port_);
    return client.request("POST", "/hold", "{}");
  });
  ASSERT_TRUE(handler_.wait_held(1));
  auto started = std::chrono::steady_clock::now();
  server_->stop();
  runner_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(shutdown_hook_calls_.load(), 1);
  server_.reset();           // the held request's connection goes with the server
  handler_.release_held();   // a late answer to a destroyed server is dropped
  EXPECT_THROW(held.get(), std::runtime_error);
}

TEST_F(ServerTest, StopsGracefullyOnSigterm) {
  start_server();
  HttpClient client(port_);
  ASSERT_EQ(client.request("GET", "/x").status, 200);  // run() is serving, so it catches the signal
  std::raise(SIGTERM);
  runner_.join();
  EXPECT_EQ(shutdown_hook_calls_.load(), 1);
}

TEST_F(ServerTest, AnswersHeadWithoutABodyAndTakesExpectContinue) {
  start_server();
  HttpClient client(port_);
  HttpResponse head = client.request("HEAD", "/x");
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.header("content-length"), "0");
  EXPECT_EQ(head.body, "");
  HttpResponse continued = client.send_raw(
      "POST /x HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
      "Expect: 100-continue\r\n\r\n{}");
  EXPECT_EQ(continued.status, 200);  // the client skips the interim 100
  EXPECT_NE(continued.body.find("\"body_bytes\":2"), std::string::npos);
}

TEST_F(ServerTest, SchedulerRunsWorkOnTheLoopAndDropsWhatIsPendingAtStop) {
  start_server();
  std::promise<void> posted;
  std::promise<void> delayed;
  server_->scheduler().post([&] { posted.set_value(); });
  auto started = std::chrono::steady_clock::now();
  server_->scheduler().post_after(30ms, [&] { delayed.set_value(); });
  EXPECT_EQ(posted.get_future().wait_for(1s), std::future_status::ready);
  EXPECT_EQ(delayed.get_future().wait_for(1s), std::future_status::ready);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 25ms);
  std::atomic<bool> ran{false};
  server_->scheduler().post_after(10s, [&] { ran = true; });
  stop_server();
  server_.reset();
  EXPECT_FALSE(ran.load());
}

TEST_F(ServerTest, WritesOneAccessLogLinePerRequest) {
  capture_log_ = true;
  ::testing::internal::CaptureStdout();
  start_server();
  HttpClient client(port_);
  std::string id = client.request("POST", "/v1/transfers", "{}").header("x-request-id");
  stop_server();
  std::string log = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(log.find("\"request_id\":\"" + id +
                     "\",\"method\":\"POST\",\"path\":\"/v1/transfers\",\"route\":\"POST /v1/transfers\","
                     "\"status\":200,\"duration_us\":"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.rfind("{\"ts\":\"", 0), 0u) << log;
}

TEST(ServerStartTest, ReportsAnAddressThatCannotBeListenedOn) {
  FakeHandler handler;
  metrics::Registry registry;
  SystemClock clock;
  SeededRandom random;
  IdGenerator ids(clock, random);
  Server first({.port = 0, .access_log = false}, handler, registry, clock, ids);
  Result<std::uint16_t> port = first.start();
  ASSERT_TRUE(port.ok());
  Server second({.port = *port, .access_log = false}, handler, registry, clock, ids);
  Result<std::uint16_t> taken = second.start();
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.problem().code, "internal_error");
  EXPECT_NE(taken.problem().detail.find("cannot listen on 127.0.0.1:" + std::to_string(*port)), std::string::npos);
  Server bad({.address = "not-an-address", .port = 0, .access_log = false}, handler, registry, clock, ids);
  EXPECT_FALSE(bad.start().ok());
}

}  // namespace
}  // namespace payd::http
