// libFuzzer target for the RESP parser (built and run by tests/redis/run-fuzz).
//
// The input's first byte picks small limits, the next four seed how the
// rest is cut into chunks. Invariants checked, beyond "no crash, no leak,
// no undefined behaviour":
//   - chunking does not matter: the same replies, and the same final
//     status, as when the input is fed whole;
//   - a protocol error is sticky;
//   - every reply, encoded again, parses back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "redis/resp.h"

namespace {

using payd::redis::Parser;
using payd::redis::Reply;

void check(bool condition) {
  if (!condition) std::abort();
}

void encode_reply(const Reply& reply, std::string& out) {
  switch (reply.type) {
    case Reply::Type::simple: out += "+" + reply.text + "\r\n"; return;
    case Reply::Type::error: out += "-" + reply.text + "\r\n"; return;
    case Reply::Type::integer: out += ":" + std::to_string(reply.integer) + "\r\n"; return;
    case Reply::Type::bulk: out += "$" + std::to_string(reply.text.size()) + "\r\n" + reply.text + "\r\n"; return;
    case Reply::Type::nil: out += "$-1\r\n"; return;
    case Reply::Type::array:
      out += "*" + std::to_string(reply.elements.size()) + "\r\n";
      for (const Reply& element : reply.elements) encode_reply(element, out);
      return;
  }
}

// Takes every complete reply; returns the status that stopped it.
Parser::Status drain(Parser& parser, std::vector<Reply>& replies) {
  Reply reply;
  Parser::Status status;
  while ((status = parser.next(reply)) == Parser::Status::reply) replies.push_back(reply);
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  Parser::Limits limits;
  limits.bulk_bytes_max = 1 + data[0] % 64;
  limits.elements_max = 1 + data[0] % 8;
  limits.depth_max = 1 + data[0] % 5;
  limits.line_bytes_max = 4 + data[0] % 32;
  std::uint32_t seed = data[1] | data[2] << 8 | data[3] << 16 | static_cast<std::uint32_t>(data[4]) << 24;
  std::string_view input(reinterpret_cast<const char*>(data) + 5, size - 5);

  Parser whole(limits);
  whole.feed(input);
  std::vector<Reply> whole_replies;
  Parser::Status whole_status = drain(whole, whole_replies);

  Parser chunked(limits);
  std::vector<Reply> chunked_replies;
  Parser::Status chunked_status = Parser::Status::need_more;
  for (std::size_t offset = 0; offset < input.size();) {
    seed = seed * 1103515245u + 12345u;
    std::size_t chunk = 1 + (seed >> 16) % 9;
    chunked.feed(input.substr(offset, chunk));
    offset += chunk;
    chunked_status = drain(chunked, chunked_replies);
    if (chunked_status == Parser::Status::error) break;
  }
  if (input.empty()) chunked_status = drain(chunked, chunked_replies);

  check(chunked_status == whole_status);
  check(chunked_replies.size() == whole_replies.size());
  for (std::size_t i = 0; i < whole_replies.size(); ++i) check(chunked_replies[i] == whole_replies[i]);

  if (whole_status == Parser::Status::error) {
    check(!whole.error_message().empty());
    whole.feed("+OK\r\n");
    Reply reply;
    check(whole.next(reply) == Parser::Status::error);
  }

  for (const Reply& reply : whole_replies) {
    std::string bytes;
    encode_reply(reply, bytes);
    Parser again(limits);
    again.feed(bytes);
    Reply parsed;
    check(again.next(parsed) == Parser::Status::reply);
    check(parsed == reply);
    check(again.next(parsed) == Parser::Status::need_more);
  }
  return 0;
}
