// Idempotency rules (draft-ietf-httpapi-idempotency-key-header, API.md).
//
// Pure functions: what a valid key is, what a request's fingerprint is, and
// which outcomes are stored. The ledger stores outcomes in the same
// transaction as their effects; these rules decide what goes in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "core/result.h"

namespace payd {

inline constexpr std::size_t idempotency_key_length_max = 255;

// The key from the raw header value: 1..255 printable ASCII bytes; the
// structured-field form "..." is accepted and its quotes dropped.
// Problems: idempotency_key_invalid.
Result<std::string> parse_idempotency_key(std::string_view header_value);

// The canonical JSON of a value: object keys sorted, no whitespace.
std::string canonical_json(const boost::json::value& value);

// SHA-256 (hex) over method, path and canonical body: key order and
// whitespace of the body do not matter.
std::string request_fingerprint(std::string_view method, std::string_view path, const boost::json::value& body);

// Whether an outcome reflects a decision about money and is stored under its
// key: every 2xx, every 402, and 409 invalid_state / amount_exceeds_refundable.
bool is_stored_outcome(unsigned status, std::string_view problem_code);

}  // namespace payd
