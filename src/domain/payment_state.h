// The payment state machine (API.md, Payments).
//
//   pending ──> authorized ──> captured ──> partially_refunded ──> refunded
//      │            │             └──────────────────────────────────┘
//      │            └──> voided
//      └──> captured | failed
//
// Pure: the ledger asks it whether an operation is allowed and what the next
// status is; it never touches storage.
#pragma once

#include <optional>
#include <string_view>

#include "core/money.h"

namespace payd {

enum class PaymentStatus { pending, authorized, captured, partially_refunded, refunded, voided, failed };

std::string_view to_string(PaymentStatus status);
std::optional<PaymentStatus> parse_payment_status(std::string_view text);

// Whether a gateway or wallet outcome may still be recorded.
bool is_resolvable(PaymentStatus status);
bool can_capture(PaymentStatus status);
bool can_void(PaymentStatus status);
bool can_refund(PaymentStatus status);

// Status after refunding so that `refunded_total` of `captured` is refunded.
// Preconditions (asserted): 0 < refunded_total <= captured.
PaymentStatus status_after_refund(Minor captured, Minor refunded_total);

}  // namespace payd
