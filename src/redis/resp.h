// RESP2: encoding commands and parsing replies. Pure code, no I/O.
//
// The parser is incremental (feed bytes as they arrive, take replies as they
// complete) and bounded: a bulk string longer than Limits::bulk_bytes_max,
// a line (simple string, error, length) longer than Limits::line_bytes_max,
// an array longer than Limits::elements_max or nested deeper than
// Limits::depth_max, or any byte sequence that is not RESP, is a protocol
// error, after which the connection must be closed. It never crashes or
// throws on input, whatever the input (fuzzed: tests/redis/resp_fuzz.cc).
// It resumes where it stopped: a reply arriving byte by byte costs no more
// than one arriving whole. Memory is bounded by the bytes fed that are not
// yet taken, plus one bulk string.
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
  bool operator==(const Reply&) const = default;
};

// Appends `*N\r\n$len\r\narg\r\n...` for one command to `out`.
void encode(const std::vector<std::string>& command, std::string& out);

class Parser {
 public:
  struct Limits {
    std::size_t bulk_bytes_max = 64 * 1024 * 1024;
    std::size_t elements_max = 1024 * 1024;
    std::size_t depth_max = 16;
    std::size_t line_bytes_max = 64 * 1024;
  };
  Parser() = default;
  explicit Parser(Limits limits) : limits_(limits) {}

  // Appends received bytes (ignored after a protocol error).
  void feed(std::string_view bytes);

  enum class Status { reply, need_more, error };
  // Takes the next complete reply into `out`. After Status::error, every
  // later call returns Status::error too; error_message() says why.
  Status next(Reply& out);
  const std::string& error_message() const { return error_; }

 private:
  // An array being filled: its elements so far and how many are missing.
  struct Frame {
    Reply array;
    std::size_t missing = 0;
  };
  enum class Step { value, frame_opened, need_more, error };
  // Parses one header (and its bulk string) at offset_ into `value`.
  Step parse_one(Reply& value);
  // Sets the sticky error; always returns Step::error.
  Step fail(std::string message);

  Limits limits_;
  std::string buffer_;
  std::size_t offset_ = 0;  // bytes of buffer_ already parsed
  std::vector<Frame> stack_;  // open arrays, outermost first
  std::string error_;
};

}  // namespace payd::redis
