#include "core/json_writer.h"

#include <cassert>
#include <charconv>

namespace payd {

JsonWriter::~JsonWriter() { assert(depth_ == 0); }

void JsonWriter::separate() {
  if (need_comma_) out_.push_back(',');
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  out_.push_back('{');
  need_comma_ = false;
  ++depth_;
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  assert(depth_ > 0);
  out_.push_back('}');
  need_comma_ = true;
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  separate();
  out_.push_back('[');
  need_comma_ = false;
  ++depth_;
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  assert(depth_ > 0);
  out_.push_back(']');
  need_comma_ = true;
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  append_json_string(out_, name);
  out_.push_back(':');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  separate();
  append_json_string(out_, text);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t number) {
  separate();
  char buffer[24];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, number);
  assert(error == std::errc());
  out_.append(buffer, end);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  separate();
  out_.append(flag ? "true" : "false");
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_.append("null");
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  separate();
  out_.append(json);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::member_or_null(std::string_view name, std::string_view text) {
  key(name);
  return text.empty() ? null() : value(text);
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  auto needs_escape = [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || c == '"' || c == '\\';
  };
  out.push_back('"');
  // Copies runs of plain characters at once; most strings have no escape.
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!needs_escape(c)) continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: {
        auto byte = static_cast<unsigned char>(c);
        out.append("\\u00");
        out.push_back(hex[byte >> 4]);
        out.push_back(hex[byte & 0xf]);
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

}  // namespace payd
