#include "hsm/records.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::hsm {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using crypto::SecretBytes;

TEST(RecordsTest, KeyObjectRoundTripsEveryAttribute) {
  KeyObject k;
  k.handle = 0x1234567890;
  k.attributes.object_class = ObjectClass::kPrivateKey;
  k.attributes.key_type = KeyType::kEcP384;
  k.attributes.label = "signing";
  k.attributes.id = {1, 2, 3};
  k.attributes.sign = true;
  k.attributes.extractable = true;
  k.attributes.trusted = true;
  k.attributes.bits = 384;
  k.attributes.owner = "carol";
  k.attributes.shared_with = {"dave", "erin"};
  k.secret = SecretBytes::CopyOf(Bytes{9, 9, 9});
  k.public_der = {4, 5};
  k.pair_handle = 77;
  auto back = DecodeKey(Encode(k));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->handle, k.handle);
  EXPECT_EQ(back->attributes.object_class, ObjectClass::kPrivateKey);
  EXPECT_EQ(back->attributes.key_type, KeyType::kEcP384);
  EXPECT_EQ(back->attributes.label, "signing");
  EXPECT_EQ(back->attributes.id, k.attributes.id);
  EXPECT_TRUE(back->attributes.sign);
  EXPECT_TRUE(back->attributes.extractable);
  EXPECT_TRUE(back->attributes.trusted);
  EXPECT_FALSE(back->attributes.decrypt);
  EXPECT_TRUE(back->attributes.sensitive);  // the default survives
  EXPECT_EQ(back->attributes.shared_with, k.attributes.shared_with);
  EXPECT_EQ(back->pair_handle, 77u);
  EXPECT_TRUE(crypto::ConstantTimeEquals(back->secret.ExposeSecret(),
                                         k.secret.ExposeSecret()));
}

TEST(RecordsTest, UserAndPolicyRoundTrip) {
  UserRecord u{"carol", Role::kApplianceUser, "$scrypt$x", 3, true, {7}};
  auto back = DecodeUser(Encode(u));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->name, "carol");
  EXPECT_EQ(back->role, Role::kApplianceUser);
  EXPECT_EQ(back->failed_logins, 3u);
  EXPECT_TRUE(back->locked);
  PolicyRecord p;
  p.max_failed_logins = 9;
  p.quorum_user_management = 2;
  auto policy = DecodePolicy(Encode(p));
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ(policy->max_failed_logins, 9u);
  EXPECT_EQ(policy->quorum_user_management, 2u);
}

TEST(RecordsTest, ClusterRecordKeepsSyncKeyAndLogPosition) {
  ClusterRecord c;
  c.cluster_id = "cluster-1";
  c.cluster_key_pkcs8 = SecretBytes::CopyOf(Bytes{1, 2});
  c.cluster_cert_pem = "cert";
  c.sync_key = SecretBytes::CopyOf(Bytes(32, 0x5a));
  c.log_position = 0x0102030405060708;
  auto back = DecodeCluster(Encode(c));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->cluster_id, "cluster-1");
  EXPECT_EQ(back->cluster_cert_pem, "cert");
  EXPECT_EQ(back->log_position, c.log_position);
  EXPECT_TRUE(crypto::ConstantTimeEquals(back->sync_key.ExposeSecret(),
                                         c.sync_key.ExposeSecret()));
}

TEST(RecordsTest, MalformedPayloadsAreRejected) {
  EXPECT_THAT(DecodeUser(SecretBytes::CopyOf(Bytes{1, 2, 3})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeKey(SecretBytes()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace coffer::hsm
