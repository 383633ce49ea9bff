#include "domain/payment_state.h"

#include <array>
#include <cassert>
#include <utility>

namespace payd {
namespace {

constexpr std::array<std::pair<PaymentStatus, std::string_view>, 7> names = {{
    {PaymentStatus::pending, "pending"},
    {PaymentStatus::authorized, "authorized"},
    {PaymentStatus::captured, "captured"},
    {PaymentStatus::partially_refunded, "partially_refunded"},
    {PaymentStatus::refunded, "refunded"},
    {PaymentStatus::voided, "voided"},
    {PaymentStatus::failed, "failed"},
}};

}  // namespace

std::string_view to_string(PaymentStatus status) {
  for (const auto& [value, name] : names) {
    if (value == status) return name;
  }
  assert(false && "unknown payment status");
  return "failed";
}

std::optional<PaymentStatus> parse_payment_status(std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

bool is_resolvable(PaymentStatus status) { return status == PaymentStatus::pending; }
bool can_capture(PaymentStatus status) { return status == PaymentStatus::authorized; }
bool can_void(PaymentStatus status) { return status == PaymentStatus::authorized; }

bool can_refund(PaymentStatus status) {
  return status == PaymentStatus::captured || status == PaymentStatus::partially_refunded;
}

PaymentStatus status_after_refund(Minor captured, Minor refunded_total) {
  assert(refunded_total > 0);
  assert(refunded_total <= captured);
  return refunded_total == captured ? PaymentStatus::refunded : PaymentStatus::partially_refunded;
}

}  // namespace payd
