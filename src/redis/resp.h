// RESP2: encoding commands and parsing replies. Pure code, no I/O.
//
// The parser is incremental (feed bytes as they arrive, take replies as they
// complete) and bounded: a bulk string longer than Limits::bulk_bytes_max,
// an array longer than Limits::elements_max or nested deeper than
// Limits::depth_max, or any byte sequence that is not RESP, is a protocol
// error, after which the connection must be closed. It never crashes on
// input, whatever the input (fuzzed: tests/redis/resp_fuzz.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace payd::redis {

struct Reply {
  enum class Type { simple, error, integer, bulk, nil, array };
  Type type = Type::nil;
  std::string text;             // simple, error, bulk
  std::int64_t integer = 0;     // integer
  std::vector<Reply> elements;  // array

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil; }
};

// Appends `*N\r\n$len\r\narg\r\n...` for one command to `out`.
void encode(const std::vector<std::string>& command, std::string& out);

class Parser {
 public:
  struct Limits {
    std::size_t bulk_bytes_max = 64 * 1024 * 1024;
    std::size_t elements_max = 1024 * 1024;
    std::size_t depth_max = 16;
  };
  Parser() = default;
  explicit Parser(Limits limits) : limits_(limits) {}

  // Appends received bytes.
  void feed(std::string_view bytes);

  enum class Status { reply, need_more, error };
  // Takes the next complete reply into `out`. After Status::error, every
  // later call returns Status::error too; error_message() says why.
  Status next(Reply& out);
  const std::string& error_message() const { return error_; }

 private:
  Limits limits_;
  std::string buffer_;
  std::size_t offset_ = 0;
  std::string error_;
};

}  // namespace payd::redis
