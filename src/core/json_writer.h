// JsonWriter: appends compact JSON to a string, members in the order written.
//
// Responses are rendered with this rather than a DOM so that rendering is
// cheap on the ledger writer's thread and byte-for-byte deterministic, which
// idempotent replays rely on. The writer does not check nesting: callers
// pair begin/end calls (asserted in debug builds).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace payd {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  ~JsonWriter();

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(bool flag);
  JsonWriter& null();
  // Appends already-serialised JSON (for example a stored metadata object).
  JsonWriter& raw(std::string_view json);

  // key(name).value(v) in one call.
  template <typename T>
  JsonWriter& member(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }
  // A string member, or null when the text is empty.
  JsonWriter& member_or_null(std::string_view name, std::string_view text);

 private:
  void separate();

  std::string& out_;
  bool need_comma_ = false;
  int depth_ = 0;
};

// Appends `text` as a quoted JSON string with escapes.
void append_json_string(std::string& out, std::string_view text);

}  // namespace payd
