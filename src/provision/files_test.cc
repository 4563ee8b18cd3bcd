#include "provision/files.h"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::provision {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::HasSubstr;

unsigned ModeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

TEST(ProvisionFilesTest, FactoryRoundTripsAndIsNeverOverwritten) {
  ::coffer::testing::TempDir tmp;
  const std::string dir = tmp.File("factory");
  absl::StatusOr<Factory> made = CreateFactory("acme");
  ASSERT_THAT(made, IsOk());
  ASSERT_THAT(WriteFactoryFiles(dir, *made), IsOk());
  EXPECT_EQ(ModeOf(dir), 0700u);
  EXPECT_EQ(ModeOf(dir + "/mkbk.key"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/ca.key"), 0600u);

  absl::StatusOr<Factory> read = ReadFactoryFiles(dir);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->manufacturer_id, "acme");
  EXPECT_TRUE(crypto::ConstantTimeEquals(read->mkbk.ExposeSecret(),
                                         made->mkbk.ExposeSecret()));
  EXPECT_EQ(read->ca.cert.ToPem(), made->ca.cert.ToPem());

  EXPECT_THAT(WriteFactoryFiles(dir, *made),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("already holds a factory")));
  EXPECT_THAT(ReadFactoryFiles(tmp.File("none")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none")));
}

TEST(ProvisionFilesTest, CeremonyRoundTripsAndADamagedComponentIsRefused) {
  ::coffer::testing::TempDir tmp;
  const std::string dir = tmp.File("ceremony");
  absl::StatusOr<AkbkCeremony> made = GenerateAkbk(3);
  ASSERT_THAT(made, IsOk());
  ASSERT_THAT(WriteCeremonyFiles(dir, *made), IsOk());
  EXPECT_EQ(ModeOf(ComponentPath(dir, 1)), 0600u);

  absl::StatusOr<AkbkCeremony> read = ReadCeremonyFiles(dir);
  ASSERT_THAT(read, IsOk());
  ASSERT_EQ(read->components.size(), 3u);
  EXPECT_EQ(read->combined_kcv_hex, made->combined_kcv_hex);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(read->components[i].kcv_hex, made->components[i].kcv_hex);
  }

  // One hex digit changed: the component no longer matches its KCV, and
  // the message names the file, not its contents.
  {
    std::fstream f(ComponentPath(dir, 2), std::ios::in | std::ios::out);
    const char c = static_cast<char>(f.get());
    f.seekp(0);
    f.put(c == '0' ? '1' : '0');
  }
  absl::StatusOr<AkbkCeremony> damaged = ReadCeremonyFiles(dir);
  EXPECT_THAT(damaged, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("component-2.key does not match")));
  EXPECT_THAT(WriteCeremonyFiles(dir, *made),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("never overwritten")));
}

TEST(ProvisionFilesTest, IssuedKeyRoundTrips) {
  ::coffer::testing::TempDir tmp;
  absl::StatusOr<CertificateAuthority> ca = CreateCa("test CA", "test");
  ASSERT_THAT(ca, IsOk());
  ASSERT_THAT(WriteCaFiles(tmp.File("ca"), *ca), IsOk());
  absl::StatusOr<CertificateAuthority> ca_read = ReadCaFiles(tmp.File("ca"));
  ASSERT_THAT(ca_read, IsOk());
  absl::StatusOr<IssuedKey> leaf =
      IssueLeaf(*ca_read, "client", crypto::CertificateUsage::kTlsClient);
  ASSERT_THAT(leaf, IsOk());
  ASSERT_THAT(WriteIssuedFiles(tmp.File("client"), *leaf), IsOk());
  EXPECT_EQ(ModeOf(tmp.File("client.key")), 0600u);
  absl::StatusOr<IssuedKey> read = ReadIssuedFiles(tmp.File("client"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->cert.ToPem(), leaf->cert.ToPem());
  EXPECT_EQ(read->cert.issuer_common_name(), "test CA");
}

}  // namespace
}  // namespace coffer::provision
