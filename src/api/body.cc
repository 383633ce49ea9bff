#include "api/body.h"

#include <boost/json/parse.hpp>

#include "core/currency.h"
#include "domain/idempotency.h"

namespace payd::api {
namespace {

std::string name_of(std::string_view name) { return std::string(name); }

Problem wrong_type(std::string_view name, std::string_view expected) {
  return invalid_request(std::string(name) + " must be " + std::string(expected), name_of(name));
}

}  // namespace

Result<boost::json::value> parse_body(std::string_view body) {
  bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank) return boost::json::value(boost::json::object());
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(body, error);
  if (error) return invalid_request("the body is not valid JSON: " + error.message());
  if (!value.is_object()) return invalid_request("the body must be a JSON object");
  return value;
}

const boost::json::value* Fields::find(std::string_view name) const {
  const boost::json::value* value = object_.if_contains(name);
  if (value && value->is_null()) return nullptr;  // null means absent
  return value;
}

Status Fields::only(std::initializer_list<std::string_view> allowed) const {
  for (const auto& member : object_) {
    bool known = false;
    for (std::string_view name : allowed) known = known || member.key() == name;
    if (!known) {
      return invalid_request("unknown field " + std::string(member.key()), std::string(member.key()));
    }
  }
  return Ok{};
}

Result<std::optional<std::string>> Fields::optional_string(std::string_view name, std::size_t bytes_max) const {
  const boost::json::value* value = find(name);
  if (!value) return std::optional<std::string>();
  if (!value->is_string()) return wrong_type(name, "a string");
  const auto& text = value->get_string();
  if (text.size() > bytes_max) {
    return invalid_request(std::string(name) + " is longer than " + std::to_string(bytes_max) + " bytes",
                           name_of(name));
  }
  return std::optional<std::string>(std::string(text));
}

Result<std::string> Fields::required_string(std::string_view name, std::size_t bytes_max) const {
  Result<std::optional<std::string>> text = optional_string(name, bytes_max);
  if (!text.ok()) return text.take_problem();
  if (!text.value() || text.value()->empty()) return invalid_request(std::string(name) + " is required", name_of(name));
  return std::move(*text.value());
}

Result<std::optional<std::int64_t>> Fields::optional_integer(std::string_view name, std::int64_t min,
                                                             std::int64_t max) const {
  const boost::json::value* value = find(name);
  if (!value) return std::optional<std::int64_t>();
  std::int64_t number = 0;
  if (value->is_int64()) {
    number = value->get_int64();
  } else if (value->is_uint64()) {
    return invalid_request(std::string(name) + " is out of range", name_of(name));
  } else {
    return wrong_type(name, "an integer");
  }
  if (number < min || number > max) {
    return invalid_request(std::string(name) + " must be between " + std::to_string(min) + " and " +
                               std::to_string(max),
                           name_of(name));
  }
  return std::optional<std::int64_t>(number);
}

Result<std::int64_t> Fields::integer(std::string_view name, std::int64_t min, std::int64_t max) const {
  Result<std::optional<std::int64_t>> number = optional_integer(name, min, max);
  if (!number.ok()) return number.take_problem();
  if (!number.value()) return invalid_request(std::string(name) + " is required", name_of(name));
  return *number.value();
}

Result<std::optional<Minor>> Fields::optional_amount(std::string_view name) const {
  return optional_integer(name, amount_min, amount_max);
}

Result<Minor> Fields::amount(std::string_view name) const { return integer(name, amount_min, amount_max); }

Result<std::optional<bool>> Fields::optional_bool(std::string_view name) const {
  const boost::json::value* value = find(name);
  if (!value) return std::optional<bool>();
  if (!value->is_bool()) return wrong_type(name, "true or false");
  return std::optional<bool>(value->get_bool());
}

Result<std::string> Fields::currency(std::string_view name) const {
  Result<std::string> code = required_string(name, 3);
  if (!code.ok()) return code.take_problem();
  if (!find_currency(code.value())) {
    return invalid_request(code.value() + " is not an active ISO 4217 currency code (upper case)", name_of(name));
  }
  return code;
}

Result<std::optional<std::string>> Fields::optional_id(std::string_view name, std::string_view prefix) const {
  Result<std::optional<std::string>> text = optional_string(name, 64);
  if (!text.ok()) return text.take_problem();
  if (text.value() && text.value()->rfind(prefix, 0) != 0) {
    return invalid_request("no such object " + *text.value(), name_of(name));
  }
  return text;
}

Result<std::string> Fields::id(std::string_view name, std::string_view prefix) const {
  Result<std::optional<std::string>> text = optional_id(name, prefix);
  if (!text.ok()) return text.take_problem();
  if (!text.value() || text.value()->empty()) return invalid_request(std::string(name) + " is required", name_of(name));
  return std::move(*text.value());
}

Result<std::string> Fields::metadata() const {
  const boost::json::value* value = find("metadata");
  if (!value) return std::string("{}");
  if (!value->is_object()) return wrong_type("metadata", "an object of strings");
  const auto& object = value->get_object();
  if (object.size() > metadata_keys_max) {
    return invalid_request("metadata has more than 20 keys", "metadata");
  }
  for (const auto& member : object) {
    if (member.key().empty() || member.key().size() > metadata_key_bytes_max) {
      return invalid_request("metadata keys are 1 to 40 bytes", "metadata");
    }
    if (!member.value().is_string()) return invalid_request("metadata values must be strings", "metadata");
    if (member.value().get_string().size() > metadata_value_bytes_max) {
      return invalid_request("metadata values are at most 500 bytes", "metadata");
    }
  }
  return canonical_json(*value);
}

}  // namespace payd::api
