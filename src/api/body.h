// Reading request bodies: JSON into typed fields, or a Problem naming the field.
//
// Every check that needs no database happens here, before a command is made:
// types (integers only for amounts: floats, strings and exponents are
// refused), ranges, currencies, metadata limits. A Problem from here is a
// 400 `invalid_request` with `param` set; nothing has been executed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/money.h"
#include "core/result.h"

namespace payd::api {

// Limits on metadata (API.md, Conventions).
inline constexpr std::size_t metadata_keys_max = 20;
inline constexpr std::size_t metadata_key_bytes_max = 40;
inline constexpr std::size_t metadata_value_bytes_max = 500;
inline constexpr std::size_t text_bytes_max = 1000;  // names, descriptions, reasons

// The body as a JSON value; an empty body is {}. A body that is not a JSON
// object is invalid_request.
Result<boost::json::value> parse_body(std::string_view body);

class Fields {
 public:
  explicit Fields(const boost::json::object& object) : object_(object) {}

  // Fails on members this request does not take (typos should not be
  // silently ignored when money moves).
  Status only(std::initializer_list<std::string_view> allowed) const;

  Result<std::string> required_string(std::string_view name, std::size_t bytes_max = text_bytes_max) const;
  Result<std::optional<std::string>> optional_string(std::string_view name,
                                                     std::size_t bytes_max = text_bytes_max) const;
  Result<Minor> amount(std::string_view name) const;  // required, 1..10^15
  Result<std::optional<Minor>> optional_amount(std::string_view name) const;
  // Integer in [min, max]; required unless optional_ variant.
  Result<std::int64_t> integer(std::string_view name, std::int64_t min, std::int64_t max) const;
  Result<std::optional<std::int64_t>> optional_integer(std::string_view name, std::int64_t min,
                                                       std::int64_t max) const;
  Result<std::optional<bool>> optional_bool(std::string_view name) const;
  Result<std::string> currency(std::string_view name) const;  // active ISO 4217, upper case
  // An id of the given prefix ("acct_", ...). Malformed ids are reported as
  // unknown objects would be: 400 with param.
  Result<std::string> id(std::string_view name, std::string_view prefix) const;
  Result<std::optional<std::string>> optional_id(std::string_view name, std::string_view prefix) const;
  // Metadata as canonical JSON text ("{}" when absent).
  Result<std::string> metadata() const;
  const boost::json::value* find(std::string_view name) const;

 private:
  const boost::json::object& object_;
};

}  // namespace payd::api
