// RESP2 encoding and the incremental, bounded reply parser (see resp.h).
//
// The parser keeps the bytes it was fed in one buffer and an offset up to
// which they have been parsed. Scalars are parsed whole or not at all (a
// header whose bulk string has not fully arrived is parsed again with the
// next bytes, which costs a line, not the string). Arrays are not: an open
// array is a Frame on a stack, filled element by element as elements
// complete, so a large array arriving in pieces is parsed once.
#include "redis/resp.h"

#include <cassert>
#include <charconv>
#include <utility>

namespace payd::redis {
namespace {

constexpr std::string_view line_end = "\r\n";

void append_number(std::string& out, std::size_t number) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof digits, number);
  assert(error == std::errc());
  out.append(digits, end);
}

// A whole line as a signed decimal integer: an optional '-' and 1 to 19
// digits, nothing else. nullopt when it is not one or does not fit.
std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  if (text.empty() || text.front() == '+') return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

void encode(const std::vector<std::string>& command, std::string& out) {
  assert(!command.empty());
  out += '*';
  append_number(out, command.size());
  out += line_end;
  for (const std::string& argument : command) {
    out += '$';
    append_number(out, argument.size());
    out += line_end;
    out += argument;
    out += line_end;
  }
}

void Parser::feed(std::string_view bytes) {
  if (!error_.empty()) return;
  // Drop what was parsed once it is at least half the buffer: each byte is
  // moved a bounded number of times.
  if (offset_ > 0 && offset_ * 2 >= buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

Parser::Status Parser::next(Reply& out) {
  while (error_.empty()) {
    Reply value;
    Step step = parse_one(value);
    if (step == Step::need_more) return Status::need_more;
    if (step == Step::error) break;
    if (step == Step::frame_opened) continue;
    // A complete value: it fills the innermost open array, which may
    // complete it in turn, and so on outwards.
    bool complete = true;
    while (!stack_.empty()) {
      Frame& frame = stack_.back();
      assert(frame.missing > 0);
      frame.array.elements.push_back(std::move(value));
      if (--frame.missing > 0) {
        complete = false;
        break;
      }
      value = std::move(frame.array);
      stack_.pop_back();
    }
    if (complete) {
      out = std::move(value);
      return Status::reply;
    }
  }
  return Status::error;
}

Parser::Step Parser::parse_one(Reply& value) {
  assert(offset_ <= buffer_.size());
  // A line is its type byte, at most line_bytes_max bytes, then CRLF.
  std::size_t end = buffer_.find(line_end, offset_);
  if (end == std::string::npos) {
    if (buffer_.size() - offset_ > limits_.line_bytes_max + line_end.size()) {
      return fail("a line longer than the limit");
    }
    return Step::need_more;
  }
  std::size_t line_bytes = end - offset_;
  if (line_bytes > limits_.line_bytes_max + 1) return fail("a line longer than the limit");
  if (line_bytes == 0) return fail("an empty line where a reply was expected");
  char type = buffer_[offset_];
  std::string_view line(buffer_.data() + offset_ + 1, line_bytes - 1);
  if (line.find_first_of(line_end) != std::string_view::npos) return fail("a bare CR or LF in a line");
  std::size_t after_line = end + line_end.size();

  if (type == '+' || type == '-') {
    value.type = type == '+' ? Reply::Type::simple : Reply::Type::error;
    value.text.assign(line);
    offset_ = after_line;
    return Step::value;
  }
  std::optional<std::int64_t> number = parse_integer(line);
  if (!number) return fail("a malformed number");
  if (type == ':') {
    value.type = Reply::Type::integer;
    value.integer = *number;
    offset_ = after_line;
    return Step::value;
  }
  if (type != '$' && type != '*') return fail("an unknown reply type");
  if (*number < -1) return fail("a negative length");
  if (*number == -1) {
    value.type = Reply::Type::nil;
    offset_ = after_line;
    return Step::value;
  }
  auto length = static_cast<std::uint64_t>(*number);
  if (type == '$') {
    if (length > limits_.bulk_bytes_max) return fail("a bulk string longer than the limit");
    if (buffer_.size() - after_line < length + line_end.size()) return Step::need_more;
    if (std::string_view(buffer_).substr(after_line + length, line_end.size()) != line_end) {
      return fail("a bulk string not followed by CRLF");
    }
    value.type = Reply::Type::bulk;
    value.text.assign(buffer_, after_line, length);
    offset_ = after_line + length + line_end.size();
    return Step::value;
  }
  if (length > limits_.elements_max) return fail("an array longer than the limit");
  value.type = Reply::Type::array;
  offset_ = after_line;
  if (length == 0) return Step::value;
  if (stack_.size() >= limits_.depth_max) return fail("arrays nested deeper than the limit");
  stack_.push_back(Frame{std::move(value), static_cast<std::size_t>(length)});
  return Step::frame_opened;
}

Parser::Step Parser::fail(std::string message) {
  assert(!message.empty());
  error_ = "RESP protocol error: " + std::move(message);
  buffer_.clear();
  offset_ = 0;
  stack_.clear();
  return Step::error;
}

}  // namespace payd::redis
