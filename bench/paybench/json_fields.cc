#include "bench/paybench/json_fields.h"

#include <boost/json/parse.hpp>

namespace payd::bench {

boost::json::object parse_object(std::string_view body) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(boost::json::string_view(body.data(), body.size()), error);
  if (error || !value.is_object()) return {};
  return std::move(value.as_object());
}

std::string text_member(const boost::json::object& object, std::string_view name) {
  const boost::json::value* member = object.if_contains(boost::json::string_view(name.data(), name.size()));
  if (member == nullptr || !member->is_string()) return {};
  return std::string(member->as_string());
}

std::optional<std::int64_t> integer_member(const boost::json::object& object, std::string_view name) {
  const boost::json::value* member = object.if_contains(boost::json::string_view(name.data(), name.size()));
  if (member == nullptr) return std::nullopt;
  if (member->is_int64()) return member->as_int64();
  return std::nullopt;
}

}  // namespace payd::bench
