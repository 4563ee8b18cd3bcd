// Certificate objects through the wire API: Dispatcher::Handle with real
// protobuf frames against a real HSM core (no network).
#include <memory>

#include "coffer/hsm/v1/hsm.pb.h"
#include "hsm/hsm_test_fixture.h"
#include "hsm/user_manager.h"
#include "node/dispatcher.h"

namespace coffer::node {
namespace {

namespace pb = ::coffer::hsm::v1;
using ::coffer::testing::IsOk;

class CertificateWireTest : public hsm::HsmTest {
 protected:
  void SetUp() override {
    hsm_ = Manufactured();
    ASSERT_NE(hsm_, nullptr);
    Commission(*hsm_, hsm::Mode::kFips);
    if (HasFatalFailure()) return;
    const hsm::Caller admin = Login(*hsm_, "admin", "admin-password");
    ASSERT_THAT(hsm_->users().CreateUser(admin, "alice", hsm::Role::kCryptoUser,
                                         hsm::Secret("alice-pw-123")),
                IsOk());
    dispatcher_ = std::make_unique<Dispatcher>(*hsm_, Dispatcher::Hooks{});
    pb::Request login;
    login.mutable_login()->set_user("alice");
    login.mutable_login()->set_password("alice-pw-123");
    const pb::Response r = Send(login);
    ASSERT_EQ(r.status().code(), 0) << r.status().message();
    session_ = r.login().session();
    auto leaf = provision::IssueLeaf(*customer_ca_, "wire",
                                     crypto::CertificateUsage::kSigning);
    ASSERT_THAT(leaf, IsOk());
    const Bytes der = leaf->cert.ToDer();
    der_ = std::string(der.begin(), der.end());
    const Bytes pub = leaf->key.public_key().ToDer().value();
    public_der_ = std::string(pub.begin(), pub.end());
  }

  pb::Response Send(pb::Request request) {
    if (!session_.empty()) request.set_session(session_);
    const std::string frame = request.SerializeAsString();
    const Bytes out = dispatcher_->Handle(AsBytes(frame));
    pb::Response response;
    EXPECT_TRUE(
        response.ParseFromArray(out.data(), static_cast<int>(out.size())));
    return response;
  }

  pb::Response Import(const std::string& der, bool session_object) {
    pb::Request request;
    pb::ImportCertificateRequest* r = request.mutable_import_certificate();
    r->set_certificate_der(der);
    r->set_label("wire cert");
    r->set_id("\x01\x02");
    r->set_session_object(session_object);
    return Send(request);
  }

  std::unique_ptr<hsm::Hsm> hsm_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::string session_, der_, public_der_;
};

TEST_F(CertificateWireTest, ImportFindAndRefuseUse) {
  const pb::Response imported = Import(der_, false);
  ASSERT_EQ(imported.status().code(), 0) << imported.status().message();
  ASSERT_TRUE(imported.has_import_certificate());
  const uint64_t handle = imported.import_certificate().handle();
  EXPECT_NE(handle, 0u);

  pb::Request find;
  find.mutable_find_keys()->mutable_filter()->set_object_class(
      pb::OBJECT_CLASS_CERTIFICATE);
  const pb::Response found = Send(find);
  ASSERT_EQ(found.status().code(), 0) << found.status().message();
  ASSERT_EQ(found.find_keys().keys_size(), 1);
  const pb::KeyInfo& info = found.find_keys().keys(0);
  EXPECT_EQ(info.handle(), handle);
  EXPECT_EQ(info.attributes().object_class(), pb::OBJECT_CLASS_CERTIFICATE);
  EXPECT_EQ(info.attributes().label(), "wire cert");
  EXPECT_EQ(info.attributes().id(), "\x01\x02");
  EXPECT_TRUE(info.attributes().token());
  EXPECT_FALSE(info.attributes().sensitive());
  EXPECT_TRUE(info.attributes().extractable());
  EXPECT_EQ(info.certificate_der(), der_);
  EXPECT_EQ(info.public_der(), public_der_);

  pb::Request get;
  get.mutable_get_attributes()->set_handle(handle);
  const pb::Response got = Send(get);
  ASSERT_EQ(got.status().code(), 0) << got.status().message();
  EXPECT_EQ(got.get_attributes().key().certificate_der(), der_);

  pb::Request sign;
  sign.mutable_sign()->set_handle(handle);
  sign.mutable_sign()->mutable_mechanism()->set_mechanism(pb::MECHANISM_ECDSA);
  sign.mutable_sign()->set_data("x");
  const pb::Response refused = Send(sign);
  EXPECT_EQ(refused.status().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(refused.status().message(),
              ::testing::HasSubstr("is a certificate, not a key"));

  pb::Request destroy;
  destroy.mutable_destroy_key()->set_handle(handle);
  EXPECT_EQ(Send(destroy).status().code(), 0);
  EXPECT_EQ(Send(find).find_keys().keys_size(), 0);
}

TEST_F(CertificateWireTest, SessionObjectsAndMalformedDer) {
  const pb::Response imported = Import(der_, true);
  ASSERT_EQ(imported.status().code(), 0) << imported.status().message();
  EXPECT_EQ(hsm_->Info().keys, 0u);  // a session object is not persisted
  pb::Request get;
  get.mutable_get_attributes()->set_handle(
      imported.import_certificate().handle());
  const pb::Response got = Send(get);
  ASSERT_EQ(got.status().code(), 0) << got.status().message();
  EXPECT_FALSE(got.get_attributes().key().attributes().token());

  const pb::Response bad = Import("not a certificate", false);
  EXPECT_EQ(bad.status().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(bad.has_import_certificate());
}

}  // namespace
}  // namespace coffer::node
