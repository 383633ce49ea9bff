// Small helpers for tests that read JSON answers and make idempotency keys.
//
// Header-only; a target that includes it links Boost::json. Accessors return
// std::optional so that a missing member or a member of the wrong type shows
// up in a gtest failure as "(nullopt)" instead of an exception.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace payd::testing {

// The parsed value, or null when `text` is not one JSON value.
inline boost::json::value parse_json(std::string_view text) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  return error ? boost::json::value() : value;
}

// The value at a dotted path ("card.brand") of objects, or nullptr.
inline const boost::json::value* find_path(const boost::json::value& root, std::string_view path) {
  const boost::json::value* current = &root;
  while (!path.empty()) {
    std::size_t dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    if (!current->is_object()) return nullptr;
    current = current->get_object().if_contains(name);
    if (current == nullptr) return nullptr;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return current;
}

inline std::optional<std::string> string_at(const boost::json::value& root, std::string_view path) {
  const boost::json::value* value = find_path(root, path);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->get_string());
}

// Integers only: 10.0 or "10" are not integers.
inline std::optional<std::int64_t> int_at(const boost::json::value& root, std::string_view path) {
  const boost::json::value* value = find_path(root, path);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(value->get_uint64());
  }
  return std::nullopt;
}

inline std::optional<bool> bool_at(const boost::json::value& root, std::string_view path) {
  const boost::json::value* value = find_path(root, path);
  if (value == nullptr || !value->is_bool()) return std::nullopt;
  return value->get_bool();
}

// A key no other call in any test process makes: label, process id, a
// counter and 64 random bits.
inline std::string unique_idempotency_key(std::string_view label = "key") {
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t salt = std::random_device{}() * 0x100000001ULL ^ std::random_device{}();
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, "-%d-%llu-%016llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(counter.fetch_add(1)), static_cast<unsigned long long>(salt));
  return std::string(label) + suffix;
}

}  // namespace payd::testing
