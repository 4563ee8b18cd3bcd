// An attacker with the file but not the key: every change to a closed
// store's file must be detected (DataLoss), except the documented one.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/sealed_store.h"
#include "store/store_test_util.h"
#include "testing/status_matchers.h"

namespace coffer::store {
namespace {

using ::coffer::store::testing::AsString;
using ::coffer::store::testing::Erase;
using ::coffer::store::testing::MustOpen;
using ::coffer::store::testing::Put;
using ::coffer::store::testing::RawDb;
using ::coffer::store::testing::ReadFileBytes;
using ::coffer::store::testing::TempDir;
using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Code = absl::StatusCode;

constexpr char kRolledBack[] = "records missing or rolled back";

class TamperTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.File("state.db"); }

  void Commit(std::vector<RecordWrite> writes) {
    auto store = MustOpen(path(), key_);
    ASSERT_NE(store, nullptr);
    ASSERT_THAT(store->Commit(std::move(writes)), IsOk());
  }
  void CommitOne(RecordWrite w) {
    std::vector<RecordWrite> v;
    v.push_back(std::move(w));
    Commit(std::move(v));
  }
  // Opens and loads; returns the first failure.
  absl::Status OpenAndLoad() {
    auto store = OpenSqliteSealedStore(path(), key_.Clone());
    if (!store.ok()) return store.status();
    return (*store)->LoadAll().status();
  }
  Bytes SealedOf(const std::string& id) {
    RawDb raw(path());
    return raw.Blob(absl::StrCat("SELECT sealed FROM records WHERE id = CAST('",
                                 id, "' AS BLOB)"));
  }
  void SetColumns(const std::string& id, ByteView sealed, int64_t version,
                  int64_t generation) {
    RawDb raw(path());
    raw.ExecWithBlob(absl::StrCat("UPDATE records SET sealed = ?1, version = ",
                                  version, ", generation = ", generation,
                                  " WHERE id = CAST('", id, "' AS BLOB)"),
                     sealed);
  }

  void SetUp() override {
    std::vector<RecordWrite> w;
    w.push_back(Put("key", "alpha", "payload of alpha"));
    w.push_back(Put("key", "beta", "payload of beta"));
    w.push_back(Put("user", "carol", "payload of carol"));
    Commit(std::move(w));
  }

  TempDir dir_;
  crypto::SecretBytes key_ = crypto::RandomSecret(32).value();
};

TEST_F(TamperTest, UntouchedFileLoads) { EXPECT_THAT(OpenAndLoad(), IsOk()); }

TEST_F(TamperTest, FlippedByteInABlobNamesTheRecord) {
  Bytes sealed = SealedOf("beta");
  ASSERT_FALSE(sealed.empty());
  sealed[sealed.size() / 2] ^= 0x01;
  SetColumns("beta", sealed, 1, 1);
  EXPECT_THAT(OpenAndLoad(),
              StatusIs(Code::kDataLoss,
                       AllOf(HasSubstr("kind 'key'"), HasSubstr("id 'beta'"),
                             Not(HasSubstr("payload of")))));
}

TEST_F(TamperTest, SwappedBlobsFail) {
  Bytes a = SealedOf("alpha");
  Bytes b = SealedOf("beta");
  SetColumns("alpha", b, 1, 1);
  SetColumns("beta", a, 1, 1);
  EXPECT_THAT(OpenAndLoad(), StatusIs(Code::kDataLoss, HasSubstr("alpha")));
}

TEST_F(TamperTest, ReplayedOlderBlobFails) {
  Bytes v1 = SealedOf("alpha");
  CommitOne(Put("key", "alpha", "second"));  // version 2, generation 2
  SetColumns("alpha", v1, 2, 2);             // old blob, current columns
  EXPECT_THAT(OpenAndLoad(), StatusIs(Code::kDataLoss, HasSubstr("alpha")));
  SetColumns("alpha", v1, 1, 1);  // old blob with its own columns
  EXPECT_THAT(OpenAndLoad(), StatusIs(Code::kDataLoss, HasSubstr(kRolledBack)));
}

TEST_F(TamperTest, ReplayAcrossDeleteAndRecreateFails) {
  Bytes first = SealedOf("alpha");  // version 1, generation 1
  CommitOne(Erase("key", "alpha"));
  CommitOne(Put("key", "alpha", "new life"));  // version 1 again
  SetColumns("alpha", first, 1, 1);
  EXPECT_THAT(OpenAndLoad(), StatusIs(Code::kDataLoss, HasSubstr(kRolledBack)));
}

TEST_F(TamperTest, DeletedRowFails) {
  {
    RawDb raw(path());
    raw.Exec("DELETE FROM records WHERE id = CAST('carol' AS BLOB)");
  }
  EXPECT_THAT(OpenAndLoad(), StatusIs(Code::kDataLoss, HasSubstr(kRolledBack)));
}

TEST_F(TamperTest, ResurrectedRowFails) {
  Bytes carol = SealedOf("carol");
  CommitOne(Erase("user", "carol"));
  {
    RawDb raw(path());
    raw.ExecWithBlob(
        "INSERT INTO records(kind, id, version, generation, sealed) VALUES "
        "(CAST('user' AS BLOB), CAST('carol' AS BLOB), 1, 1, ?1)",
        carol);
  }
  EXPECT_THAT(OpenAndLoad(), StatusIs(Code::kDataLoss, HasSubstr(kRolledBack)));
}

TEST_F(TamperTest, CommitRefusesToBuildOnATamperedRow) {
  Bytes sealed = SealedOf("alpha");
  sealed[0] ^= 0x80;
  SetColumns("alpha", sealed, 1, 1);
  auto store = MustOpen(path(), key_);
  ASSERT_NE(store, nullptr);
  std::vector<RecordWrite> w;
  w.push_back(Put("key", "alpha", "overwrite"));
  EXPECT_THAT(store->Commit(std::move(w)),
              StatusIs(Code::kDataLoss, HasSubstr("alpha")));
}

TEST_F(TamperTest, OlderManifestWithCurrentRowsFails) {
  Bytes old_manifest;
  {
    RawDb raw(path());
    old_manifest = raw.Blob("SELECT sealed FROM manifest");
  }
  CommitOne(Put("key", "delta", "more"));
  {
    RawDb raw(path());
    raw.ExecWithBlob("UPDATE manifest SET sealed = ?1", old_manifest);
  }
  EXPECT_THAT(OpenAndLoad(), StatusIs(Code::kDataLoss, HasSubstr(kRolledBack)));
}

TEST_F(TamperTest, MissingOrModifiedManifestFailsAtOpen) {
  Bytes manifest;
  {
    RawDb raw(path());
    manifest = raw.Blob("SELECT sealed FROM manifest");
    manifest[manifest.size() - 1] ^= 1;
    raw.ExecWithBlob("UPDATE manifest SET sealed = ?1", manifest);
  }
  EXPECT_THAT(OpenSqliteSealedStore(path(), key_.Clone()),
              StatusIs(Code::kDataLoss, HasSubstr("manifest")));
  {
    RawDb raw(path());
    raw.Exec("DELETE FROM manifest");
  }
  EXPECT_THAT(OpenSqliteSealedStore(path(), key_.Clone()),
              StatusIs(Code::kDataLoss, HasSubstr("manifest")));
}

TEST_F(TamperTest, DamagedPagesAreDataLoss) {
  Bytes file = ReadFileBytes(path());
  ASSERT_GT(file.size(), 4096u * 2);
  for (size_t i = 4096 + 100; i < file.size(); ++i) file[i] = 0xA5;
  std::ofstream(path(), std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(file.data()),
             static_cast<std::streamsize>(file.size()));
  EXPECT_THAT(OpenAndLoad(), StatusIs(Code::kDataLoss));
}

// Documented limit (docs/state-store.md): a whole old copy of the file,
// manifest included, is consistent on its own. Only generation() shows it,
// for an external counter to catch.
TEST_F(TamperTest, WholeFileRollbackIsOnlyVisibleInTheGeneration) {
  Bytes old_file = ReadFileBytes(path());
  CommitOne(Put("key", "alpha", "newer"));
  std::ofstream(path(), std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(old_file.data()),
             static_cast<std::streamsize>(old_file.size()));
  auto store = MustOpen(path(), key_);
  ASSERT_NE(store, nullptr);
  auto records = store->LoadAll();
  ASSERT_THAT(records, IsOk());
  EXPECT_EQ(AsString(records->front().payload), "payload of alpha");
  EXPECT_EQ(store->generation(), 1u);
}

}  // namespace
}  // namespace coffer::store
