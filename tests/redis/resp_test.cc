#include "redis/resp.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/redis/replies.h"

namespace payd::redis {
namespace {

// Every reply in `bytes`, fed in one piece; stops at need_more or error.
std::vector<Reply> parse_all(Parser& parser, std::string_view bytes) {
  parser.feed(bytes);
  std::vector<Reply> replies;
  Reply reply;
  while (parser.next(reply) == Parser::Status::reply) replies.push_back(reply);
  return replies;
}

using test_replies::bulk;

// One of each reply type, nested arrays included, nil bulk and nil array.
const std::string mixed_replies =
    "+OK\r\n"
    "-ERR wrong\r\n"
    ":-42\r\n"
    "$5\r\nhe\r\no\r\n"
    "$0\r\n\r\n"
    "$-1\r\n"
    "*-1\r\n"
    "*0\r\n"
    "*3\r\n:1\r\n*2\r\n$1\r\na\r\n*1\r\n+x\r\n$-1\r\n";

void expect_mixed(const std::vector<Reply>& replies) {
  ASSERT_EQ(replies.size(), 9u);
  EXPECT_EQ(replies[0].type, Reply::Type::simple);
  EXPECT_EQ(replies[0].text, "OK");
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_EQ(replies[1].text, "ERR wrong");
  EXPECT_EQ(replies[2].type, Reply::Type::integer);
  EXPECT_EQ(replies[2].integer, -42);
  EXPECT_EQ(replies[3], bulk("he\r\no"));
  EXPECT_EQ(replies[4], bulk(""));
  EXPECT_TRUE(replies[5].is_nil());
  EXPECT_TRUE(replies[6].is_nil());
  EXPECT_EQ(replies[7].type, Reply::Type::array);
  EXPECT_TRUE(replies[7].elements.empty());
  const Reply& nested = replies[8];
  ASSERT_EQ(nested.type, Reply::Type::array);
  ASSERT_EQ(nested.elements.size(), 3u);
  EXPECT_EQ(nested.elements[0].integer, 1);
  ASSERT_EQ(nested.elements[1].elements.size(), 2u);
  EXPECT_EQ(nested.elements[1].elements[0].text, "a");
  EXPECT_EQ(nested.elements[1].elements[1].elements[0].text, "x");
  EXPECT_TRUE(nested.elements[2].is_nil());
}

TEST(Resp, EncodesACommand) {
  std::string out = "prefix";
  encode({"SET", "key", "", "a\r\nb"}, out);
  EXPECT_EQ(out, "prefix*4\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n$4\r\na\r\nb\r\n");
}

TEST(Resp, ParsesEveryReplyType) {
  Parser parser;
  expect_mixed(parse_all(parser, mixed_replies));
  Reply reply;
  EXPECT_EQ(parser.next(reply), Parser::Status::need_more);
}

TEST(Resp, SplitAtEveryByteBoundary) {
  for (std::size_t split = 0; split <= mixed_replies.size(); ++split) {
    Parser parser;
    std::vector<Reply> replies = parse_all(parser, mixed_replies.substr(0, split));
    std::vector<Reply> rest = parse_all(parser, mixed_replies.substr(split));
    replies.insert(replies.end(), rest.begin(), rest.end());
    SCOPED_TRACE(split);
    expect_mixed(replies);
  }
}

TEST(Resp, ByteByByte) {
  Parser parser;
  std::vector<Reply> replies;
  for (char c : mixed_replies) {
    std::vector<Reply> some = parse_all(parser, std::string_view(&c, 1));
    replies.insert(replies.end(), some.begin(), some.end());
  }
  expect_mixed(replies);
}

TEST(Resp, EncodedCommandParsesBackAsAnArrayOfBulks) {
  std::vector<std::string> command = {"EVAL", std::string(100'000, 'x'), "1", std::string("\0\r\n", 3)};
  std::string bytes;
  encode(command, bytes);
  Parser parser;
  std::vector<Reply> replies = parse_all(parser, bytes);
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_EQ(replies[0].elements.size(), command.size());
  for (std::size_t i = 0; i < command.size(); ++i) EXPECT_EQ(replies[0].elements[i].text, command[i]);
}

TEST(Resp, IntegerLimits) {
  Parser parser;
  std::vector<Reply> replies = parse_all(parser, ":9223372036854775807\r\n:-9223372036854775808\r\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].integer, INT64_MAX);
  EXPECT_EQ(replies[1].integer, INT64_MIN);
  Parser overflow;
  EXPECT_TRUE(parse_all(overflow, ":9223372036854775808\r\n").empty());
  Reply reply;
  EXPECT_EQ(overflow.next(reply), Parser::Status::error);
}

TEST(Resp, LimitsAreProtocolErrors) {
  Parser::Limits limits;
  limits.bulk_bytes_max = 4;
  limits.elements_max = 2;
  limits.depth_max = 2;
  limits.line_bytes_max = 8;
  struct Case {
    std::string bytes;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"$4\r\nabcd\r\n", true},      {"$5\r\nabcde\r\n", false}, {"*2\r\n:1\r\n:2\r\n", true},
      {"*3\r\n:1\r\n:2\r\n:3\r\n", false}, {"*1\r\n*1\r\n:1\r\n", true}, {"*1\r\n*1\r\n*1\r\n:1\r\n", false},
      {"+12345678\r\n", true},       {"+123456789\r\n", false},  {"+12345678901", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bytes);
    Parser parser(limits);
    parser.feed(c.bytes);
    Reply reply;
    Parser::Status status = parser.next(reply);
    EXPECT_EQ(status, c.ok ? Parser::Status::reply : Parser::Status::error);
    if (!c.ok) {
      EXPECT_FALSE(parser.error_message().empty());
    }
  }
}

TEST(Resp, GarbageIsAStickyError) {
  const std::vector<std::string> garbage = {
      "hello\r\n", "\r\n",       "$abc\r\n",  "$-2\r\n",  ":\r\n",          ":+1\r\n",     ": 1\r\n",
      "*-5\r\n",   "$3\r\nabcde", "+a\rb\r\n", "+a\nb\r\n", "$1\r\na\n\r\n", "*1\r\n?\r\n", "$99999999999999999999\r\n",
  };
  for (const std::string& bytes : garbage) {
    SCOPED_TRACE(bytes);
    Parser parser;
    parser.feed(bytes);
    Reply reply;
    EXPECT_EQ(parser.next(reply), Parser::Status::error);
    parser.feed("+OK\r\n");
    EXPECT_EQ(parser.next(reply), Parser::Status::error);
    EXPECT_FALSE(parser.error_message().empty());
  }
}

TEST(Resp, ManyRepliesInOneFeedAndBufferReuse) {
  Parser parser;
  std::string bytes;
  for (int i = 0; i < 10'000; ++i) bytes += ":" + std::to_string(i) + "\r\n";
  for (int round = 0; round < 3; ++round) {
    std::vector<Reply> replies = parse_all(parser, bytes);
    ASSERT_EQ(replies.size(), 10'000u);
    EXPECT_EQ(replies.back().integer, 9'999);
  }
}

}  // namespace
}  // namespace payd::redis
