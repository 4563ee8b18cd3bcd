// A ControlPlane over a real SQLite StateStore in a temp dir, with a test
// clock and sequential ids, for the control plane's in-process tests.
// States only the workflows reach are seeded through the StateStore while
// the control plane is closed (Seed).
#ifndef COFFER_MANAGER_CONTROL_PLANE_TEST_FIXTURE_H_
#define COFFER_MANAGER_CONTROL_PLANE_TEST_FIXTURE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "manager/control_plane.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::manager {

inline constexpr int64_t kDay = 86400;
inline constexpr int64_t kStart = 1'700'000'000;

class ControlPlaneFixture : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    auto store = StateStore::Open(dir_.path());
    ASSERT_THAT(store, coffer::testing::IsOk());
    ControlPlaneOptions options;
    options.clock = [this] { return now_; };
    options.new_id =
        [this](absl::string_view prefix) -> absl::StatusOr<std::string> {
      return absl::StrCat(prefix, "-", ++ids_);
    };
    cp_ = ControlPlane::Create(std::move(*store), std::move(options));
  }
  void Reopen() {
    cp_.reset();
    Open();
  }
  // Writes through the store while the control plane is closed.
  void Seed(const std::function<absl::Status(StateStore&)>& write) {
    cp_.reset();
    {
      auto store = StateStore::Open(dir_.path());
      ASSERT_THAT(store, coffer::testing::IsOk());
      auto body = [&] { return write(**store); };
      ASSERT_THAT((*store)->Transaction(body), coffer::testing::IsOk());
    }
    Open();
  }

  coffer::testing::TempDir dir_;
  int64_t now_ = kStart;
  int ids_ = 0;
  std::unique_ptr<ControlPlane> cp_;
};

}  // namespace coffer::manager

#endif  // COFFER_MANAGER_CONTROL_PLANE_TEST_FIXTURE_H_
