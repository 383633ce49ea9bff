#include "core/problem.h"

#include "core/json_writer.h"

namespace payd {

const std::vector<ProblemType>& problem_catalog() {
  static const std::vector<ProblemType> catalog = {
      {"invalid_request", 400, "Invalid request",
       "The request is malformed or a field is missing or invalid; `param` names the field. Fix the request and send it again, with the same Idempotency-Key if you like."},
      {"idempotency_key_missing", 400, "Idempotency key missing",
       "This endpoint moves money and requires an Idempotency-Key header."},
      {"idempotency_key_invalid", 400, "Idempotency key invalid",
       "The Idempotency-Key must be 1 to 255 printable ASCII bytes."},
      {"insufficient_funds", 402, "Insufficient funds",
       "The source does not have enough available funds. The refusal is stored under the Idempotency-Key."},
      {"card_declined", 402, "Card declined", "The card issuer declined the payment."},
      {"merchant_inactive", 402, "Merchant inactive", "The merchant is not active and cannot take payments."},
      {"amount_over_limit", 402, "Amount over limit", "The amount is above the merchant's maximum amount."},
      {"processing_error", 402, "Processing error",
       "The gateway kept failing after bounded retries; the payment is recorded as failed."},
      {"not_found", 404, "Not found", "No object with that id, or no such route."},
      {"method_not_allowed", 405, "Method not allowed", "The route exists but does not take this method."},
      {"request_timeout", 408, "Request timeout", "The request did not arrive completely within 10 seconds."},
      {"idempotency_key_in_use", 409, "Idempotency key in use",
       "A request with this Idempotency-Key is being processed right now. Retry after the Retry-After delay."},
      {"invalid_state", 409, "Invalid state", "The object is not in a state that allows this operation."},
      {"amount_exceeds_refundable", 409, "Amount exceeds refundable",
       "Refunds would exceed the captured amount of the payment."},
      {"payload_too_large", 413, "Payload too large", "The request body is larger than 64 KiB."},
      {"unsupported_media_type", 415, "Unsupported media type", "Request bodies must be application/json."},
      {"idempotency_key_reused", 422, "Idempotency key reused",
       "The Idempotency-Key was used before with a different request."},
      {"rate_limited", 429, "Rate limited", "A rate limit was hit; see the Retry-After and RateLimit headers."},
      {"headers_too_large", 431, "Request headers too large", "The request headers are larger than 8 KiB."},
      {"internal_error", 500, "Internal error", "A bug in payd; the transaction was rolled back."},
      {"overloaded", 503, "Overloaded", "payd is shedding load; nothing was done. Retry after the Retry-After delay."},
      {"unavailable", 503, "Ledger unavailable",
       "The ledger cannot be reached; the outcome is not stored and a retry with the same key is safe."},
      {"gateway_unavailable", 503, "Gateway unavailable",
       "Every gateway able to take the payment is down or its circuit is open; nothing was charged."},
  };
  return catalog;
}

const ProblemType* find_problem_type(std::string_view code) {
  for (const auto& type : problem_catalog()) {
    if (type.code == code) return &type;
  }
  return nullptr;
}

unsigned Problem::status() const {
  const ProblemType* type = find_problem_type(code);
  return type ? type->status : 500;
}

std::string_view Problem::title() const {
  const ProblemType* type = find_problem_type(code);
  return type ? type->title : "Internal error";
}

Problem make_problem(std::string_view code, std::string detail, std::string param) {
  Problem problem;
  problem.code = find_problem_type(code) ? std::string(code) : std::string("internal_error");
  problem.detail = std::move(detail);
  problem.param = std::move(param);
  return problem;
}

Problem retry_soon(std::string_view code, std::string detail) {
  Problem problem = make_problem(code, std::move(detail));
  problem.retry_after_s = 1;
  return problem;
}

Problem invalid_request(std::string detail, std::string param) {
  return make_problem("invalid_request", std::move(detail), std::move(param));
}

Problem not_found(std::string detail) { return make_problem("not_found", std::move(detail)); }

std::string render_problem(const Problem& problem, std::string_view request_id) {
  std::string out;
  out.reserve(256);
  JsonWriter json(out);
  json.begin_object();
  json.member("type", "/problems/" + problem.code);
  json.member("title", problem.title());
  json.member("status", static_cast<std::int64_t>(problem.status()));
  if (!problem.detail.empty()) json.member("detail", problem.detail);
  json.member("code", problem.code);
  if (!problem.param.empty()) json.member("param", problem.param);
  for (const auto& [name, value] : problem.extensions) json.member(name, value);
  if (!request_id.empty()) json.member("request_id", request_id);
  json.end_object();
  return out;
}

}  // namespace payd
