// Problem: an RFC 9457 problem detail with payd's stable error codes.
//
// Every error payd returns is a Problem. The catalog below is the single
// place where a code gets its HTTP status, its title and its description
// (served at /problems/<code>). Codes are the ones of API.md; adding one is
// an API change.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace payd {

struct ProblemType {
  std::string_view code;
  unsigned status;
  std::string_view title;
  std::string_view description;
};

// All known problem types, in the order of API.md.
const std::vector<ProblemType>& problem_catalog();
// nullptr when the code is unknown.
const ProblemType* find_problem_type(std::string_view code);

struct Problem {
  std::string code;    // a code of problem_catalog()
  std::string detail;  // human-readable, specific to this occurrence
  std::string param;   // offending field, empty when none
  // Extension members with string values, e.g. {"payment", "pay_..."}.
  std::vector<std::pair<std::string, std::string>> extensions;
  // Seconds for a Retry-After header; 0 when none.
  unsigned retry_after_s = 0;
  // Other response headers that go with this problem (RateLimit, ...).
  std::vector<std::pair<std::string, std::string>> headers;

  unsigned status() const;
  std::string_view title() const;
};

Problem make_problem(std::string_view code, std::string detail, std::string param = {});

// Convenience constructors for the common codes.
Problem invalid_request(std::string detail, std::string param = {});
Problem not_found(std::string detail);
// A problem the client may retry after a second (Retry-After: 1):
// unavailable, overloaded, a key in use.
Problem retry_soon(std::string_view code, std::string detail);

// The problem+json body, including request_id when not empty. Deterministic:
// the same problem renders to the same bytes.
std::string render_problem(const Problem& problem, std::string_view request_id);

}  // namespace payd
