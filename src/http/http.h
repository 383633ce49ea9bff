// The HTTP boundary: what the server hands to the API and what it gets back.
//
// The server (server.h) owns sockets, parsing, limits, admission control and
// the access log; it knows nothing of payments. The API implements Handler
// on plain structs, so handler code needs no Asio or Beast headers.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace payd::http {

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method;        // upper case: "GET", "POST", "PATCH", ...
  std::string target;        // as received, with the query
  std::string path;          // the target up to '?', not decoded
  std::string query;         // after '?', not decoded; empty when none
  std::string content_type;  // the Content-Type value; empty when absent
  std::optional<std::string> idempotency_key;  // raw Idempotency-Key value
  std::string request_id;    // req_..., made by the server
  std::string body;          // at most the body limit (larger ones never get here)
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<Header> headers;  // extra headers (Retry-After, Idempotent-Replayed, ...)
  // Route label for metrics and the access log, e.g. "POST /v1/transfers";
  // empty means "unmatched".
  std::string route;
};

// Called exactly once per request, from any thread.
using Respond = std::function<void(Response)>;

class Handler {
 public:
  virtual ~Handler() = default;
  // Must eventually call `respond` exactly once. May call it before
  // returning or later from another thread. Must not block for long: work
  // that waits (the ledger, a gateway) completes through `respond`.
  virtual void handle(Request request, Respond respond) = 0;
};

}  // namespace payd::http
