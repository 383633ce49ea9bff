#include "domain/payment_state.h"

#include <gtest/gtest.h>

namespace payd {
namespace {

constexpr PaymentStatus all_statuses[] = {PaymentStatus::pending,  PaymentStatus::authorized,
                                          PaymentStatus::captured, PaymentStatus::partially_refunded,
                                          PaymentStatus::refunded, PaymentStatus::voided,
                                          PaymentStatus::failed};

TEST(PaymentState, NamesOfApiMdRoundTrip) {
  EXPECT_EQ(to_string(PaymentStatus::pending), "pending");
  EXPECT_EQ(to_string(PaymentStatus::authorized), "authorized");
  EXPECT_EQ(to_string(PaymentStatus::captured), "captured");
  EXPECT_EQ(to_string(PaymentStatus::partially_refunded), "partially_refunded");
  EXPECT_EQ(to_string(PaymentStatus::refunded), "refunded");
  EXPECT_EQ(to_string(PaymentStatus::voided), "voided");
  EXPECT_EQ(to_string(PaymentStatus::failed), "failed");
  for (PaymentStatus status : all_statuses) EXPECT_EQ(parse_payment_status(to_string(status)), status);
}

TEST(PaymentState, ParseRejectsUnknownNames) {
  for (const char* text : {"", "Captured", "CAPTURED", "succeeded", "void", "refund", " pending"}) {
    EXPECT_FALSE(parse_payment_status(text).has_value()) << text;
  }
}

TEST(PaymentState, TransitionsAllowedOnlyFromTheirStates) {
  for (PaymentStatus status : all_statuses) {
    SCOPED_TRACE(std::string(to_string(status)));
    EXPECT_EQ(is_resolvable(status), status == PaymentStatus::pending);
    EXPECT_EQ(can_capture(status), status == PaymentStatus::authorized);
    EXPECT_EQ(can_void(status), status == PaymentStatus::authorized);
    EXPECT_EQ(can_refund(status),
              status == PaymentStatus::captured || status == PaymentStatus::partially_refunded);
  }
}

TEST(PaymentState, StatusAfterRefund) {
  EXPECT_EQ(status_after_refund(1000, 1), PaymentStatus::partially_refunded);
  EXPECT_EQ(status_after_refund(1000, 999), PaymentStatus::partially_refunded);
  EXPECT_EQ(status_after_refund(1000, 1000), PaymentStatus::refunded);
  EXPECT_EQ(status_after_refund(1, 1), PaymentStatus::refunded);
}

}  // namespace
}  // namespace payd
