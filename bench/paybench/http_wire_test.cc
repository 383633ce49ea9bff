// paybench's HTTP on the wire: requests as payd reads them, and answers
// read whole however the bytes arrive.
#include "bench/paybench/http_wire.h"

#include <gtest/gtest.h>

#include "bench/paybench/http_client.h"

namespace payd::bench {
namespace {

constexpr std::size_t limit = 1024;

const std::string created =
    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\ncontent-length: 11\r\n"
    "Idempotent-Replayed: true\r\n\r\n{\"id\":\"t1\"}";

TEST(HttpWire, WritesAPostWithItsKeyAndLength) {
  std::string out = "left ";
  write_request(HttpRequest{"POST", "/v1/transfers", "{\"a\":1}", "key-1"}, out);
  EXPECT_EQ(out,
            "left POST /v1/transfers HTTP/1.1\r\nHost: 127.0.0.1\r\nIdempotency-Key: key-1\r\n"
            "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
}

TEST(HttpWire, WritesAGetWithNoBody) {
  std::string out;
  write_request(HttpRequest{"GET", "/v1/accounts/a1", "", ""}, out);
  EXPECT_EQ(out, "GET /v1/accounts/a1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

TEST(HttpWire, ReadsAnAnswerOnlyOnceEveryByteOfItHasArrived) {
  for (std::size_t cut = 0; cut < created.size(); ++cut) {
    WireResponse partial = read_response(std::string_view(created).substr(0, cut), limit);
    EXPECT_EQ(partial.state, WireResponse::State::incomplete) << cut;
  }
  WireResponse whole = read_response(created, limit);
  ASSERT_EQ(whole.state, WireResponse::State::complete);
  EXPECT_EQ(whole.status, 201u);
  EXPECT_EQ(whole.body, "{\"id\":\"t1\"}");
  EXPECT_TRUE(whole.replayed);
  EXPECT_TRUE(whole.keep_alive);
  EXPECT_EQ(whole.length, created.size());
}

TEST(HttpWire, LeavesTheBytesOfTheNextAnswerAlone) {
  std::string two = created + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  WireResponse first = read_response(two, limit);
  ASSERT_EQ(first.state, WireResponse::State::complete);
  EXPECT_EQ(first.length, created.size());
  WireResponse second = read_response(std::string_view(two).substr(first.length), limit);
  ASSERT_EQ(second.state, WireResponse::State::complete);
  EXPECT_EQ(second.status, 404u);
  EXPECT_TRUE(second.body.empty());
  EXPECT_FALSE(second.replayed);
}

TEST(HttpWire, KnowsWhenTheServerClosesTheConnection) {
  WireResponse close = read_response("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                                     "Content-Length: 2\r\n\r\n{}",
                                     limit);
  ASSERT_EQ(close.state, WireResponse::State::complete);
  EXPECT_FALSE(close.keep_alive);
  WireResponse old = read_response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", limit);
  ASSERT_EQ(old.state, WireResponse::State::complete);
  EXPECT_FALSE(old.keep_alive);
  WireResponse kept = read_response("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", limit);
  ASSERT_EQ(kept.state, WireResponse::State::complete);
  EXPECT_TRUE(kept.keep_alive);
}

TEST(HttpWire, RefusesWhatItCannotReadRatherThanGuess) {
  const char* refused[] = {
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\n\r\n{}",
      "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}",
      "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
      "SSH-2.0-OpenSSH\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n",
  };
  for (const char* bytes : refused) {
    WireResponse answer = read_response(bytes, limit);
    EXPECT_EQ(answer.state, WireResponse::State::invalid) << bytes;
    EXPECT_FALSE(answer.error.empty()) << bytes;
  }
  EXPECT_EQ(read_response(std::string(70 * 1024, 'x'), limit).state, WireResponse::State::invalid);
  WireResponse no_content = read_response("HTTP/1.1 204 No Content\r\n\r\n", limit);
  EXPECT_EQ(no_content.state, WireResponse::State::complete);
}

}  // namespace
}  // namespace payd::bench
