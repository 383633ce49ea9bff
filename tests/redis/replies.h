// Replies built by hand, for tests that feed them to code reading RESP.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "redis/resp.h"

namespace payd::redis::test_replies {

inline Reply integer(std::int64_t value) {
  Reply reply;
  reply.type = Reply::Type::integer;
  reply.integer = value;
  return reply;
}

inline Reply bulk(std::string text) {
  Reply reply;
  reply.type = Reply::Type::bulk;
  reply.text = std::move(text);
  return reply;
}

inline Reply array(std::vector<Reply> elements) {
  Reply reply;
  reply.type = Reply::Type::array;
  reply.elements = std::move(elements);
  return reply;
}

}  // namespace payd::redis::test_replies
