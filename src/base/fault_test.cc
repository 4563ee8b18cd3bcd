#include "base/fault.h"

#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::fault {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

absl::Status Guarded(int* reached) {
  COFFER_FAULT_POINT("base.test.point");
  ++*reached;
  return absl::OkStatus();
}

class FaultTest : public ::testing::Test {
 protected:
  void TearDown() override { Disarm(); }
};

TEST_F(FaultTest, UnarmedPointsPass) {
  int reached = 0;
  EXPECT_THAT(Guarded(&reached), IsOk());
  EXPECT_EQ(reached, 1);
}

TEST_F(FaultTest, ErrorFiresFromTheNthHitOnAndOnlyForItsName) {
  if (!kFaultInjectionEnabled) GTEST_SKIP() << "COFFER_FAULT_INJECTION off";
  Arm("base.test.point", FaultAction::kError, 3);
  int reached = 0;
  EXPECT_THAT(Hit("base.test.other"), IsOk());
  EXPECT_THAT(Guarded(&reached), IsOk());
  EXPECT_THAT(Guarded(&reached), IsOk());
  EXPECT_THAT(Guarded(&reached),
              StatusIs(Code::kInternal, HasSubstr("base.test.point")));
  EXPECT_THAT(Guarded(&reached), StatusIs(Code::kInternal));
  EXPECT_EQ(reached, 2);
  Disarm();
  EXPECT_THAT(Guarded(&reached), IsOk());
}

TEST_F(FaultTest, ParsesSpecs) {
  EXPECT_THAT(ArmFromSpec("a.b:error@2"), IsOk());
  EXPECT_THAT(Hit("a.b"), IsOk());
  EXPECT_THAT(Hit("a.b"), StatusIs(Code::kInternal));
  EXPECT_THAT(ArmFromSpec("a.b:explode"),
              StatusIs(Code::kInvalidArgument, HasSubstr("exit")));
  EXPECT_THAT(ArmFromSpec("a.b@0"), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(ArmFromSpec("a.b@x"), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(ArmFromSpec(":error"), StatusIs(Code::kInvalidArgument));
}

TEST_F(FaultTest, ExitActionEndsTheProcessAtOnce) {
  if (!kFaultInjectionEnabled) GTEST_SKIP() << "COFFER_FAULT_INJECTION off";
  EXPECT_EXIT(
      {
        Arm("base.test.point", FaultAction::kExit);
        int reached = 0;
        (void)Guarded(&reached);
        std::exit(0);
      },
      ::testing::ExitedWithCode(kFaultExitCode), "base.test.point");
}

// The environment is read once per process, so this runs in a re-executed
// child ("threadsafe" death tests start the binary afresh).
TEST_F(FaultTest, EnvironmentArmsAPoint) {
  if (!kFaultInjectionEnabled) GTEST_SKIP() << "COFFER_FAULT_INJECTION off";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ASSERT_EQ(setenv("COFFER_FAULT", "base.test.point@2", 1), 0);
  EXPECT_EXIT(
      {
        int reached = 0;
        (void)Guarded(&reached);
        if (reached == 1) (void)Guarded(&reached);
        std::exit(0);
      },
      ::testing::ExitedWithCode(kFaultExitCode), "base.test.point");
  unsetenv("COFFER_FAULT");
  GTEST_FLAG_SET(death_test_style, "fast");
}

}  // namespace
}  // namespace coffer::fault
