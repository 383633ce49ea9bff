// The few members paybench reads from payd's JSON answers, read leniently:
// an answer that is not what the contract promises yields empty values,
// which the caller counts or reports, never an exception.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace payd::bench {

// The answer as a JSON object; an empty object when it is not one.
boost::json::object parse_object(std::string_view body);

// The string member `name`; empty when absent or not a string.
std::string text_member(const boost::json::object& object, std::string_view name);

// The integer member `name`; nullopt when absent or not an integer.
std::optional<std::int64_t> integer_member(const boost::json::object& object, std::string_view name);

}  // namespace payd::bench
