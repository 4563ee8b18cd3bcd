#include "crypto/x509.h"

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace coffer::crypto {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

constexpr int64_t kNow = 1'750'000'000;  // 2025-06-15
constexpr int64_t kDay = 86'400;
constexpr KeyAlgorithm kAllAlgorithms[] = {
    KeyAlgorithm::kRsa, KeyAlgorithm::kEcP256, KeyAlgorithm::kEcP384,
    KeyAlgorithm::kEd25519};

// One key per algorithm and slot, generated once (RSA is slow).
const PrivateKey& Key(KeyAlgorithm algorithm, int slot = 0) {
  static std::optional<PrivateKey> keys[4][3];
  std::optional<PrivateKey>& key = keys[static_cast<int>(algorithm)][slot];
  if (!key) key = PrivateKey::Generate(algorithm).value();
  return *key;
}

CertificateSpec Spec(std::string cn, CertificateUsage usage) {
  CertificateSpec spec;
  spec.common_name = std::move(cn);
  spec.organization = "Coffer Test";
  spec.usage = usage;
  spec.not_before_unix = kNow - kDay;
  spec.not_after_unix = kNow + 365 * kDay;
  return spec;
}

Certificate Root(KeyAlgorithm algorithm, int slot = 0) {
  CertificateSpec spec = Spec("Root", CertificateUsage::kCertificateAuthority);
  spec.not_after_unix = kNow + 3650 * kDay;
  return SelfSign(Key(algorithm, slot), spec).value();
}

Bytes Der(const PublicKey& key) { return key.ToDer().value(); }

std::string AlgorithmName(KeyAlgorithm a) {
  switch (a) {
    case KeyAlgorithm::kRsa:
      return "Rsa";
    case KeyAlgorithm::kEcP256:
      return "P256";
    case KeyAlgorithm::kEcP384:
      return "P384";
    case KeyAlgorithm::kEd25519:
      return "Ed25519";
  }
  return "?";
}

class IssueTest
    : public ::testing::TestWithParam<std::tuple<KeyAlgorithm, KeyAlgorithm>> {
};

TEST_P(IssueTest, IssuesVerifiesAndReadsBack) {
  const auto [issuer_alg, subject_alg] = GetParam();
  const Certificate root = Root(issuer_alg);
  EXPECT_TRUE(root.is_ca());
  EXPECT_EQ(root.ca_path_length(), -1);
  EXPECT_EQ(root.issuer_common_name(), "Root");

  CertificateSpec spec = Spec("hsm-1", CertificateUsage::kTlsServer);
  spec.dns_names = {"hsm-1.coffer.test", "*.cluster.coffer.test"};
  spec.ip_addresses = {"127.0.0.1", "::1"};
  const PublicKey subject = Key(subject_alg, 1).public_key();
  auto leaf = Issue(Key(issuer_alg), root, subject, spec);
  ASSERT_THAT(leaf, IsOk());
  EXPECT_THAT(VerifyChain(*leaf, {}, {root}, kNow), IsOk());

  EXPECT_EQ(leaf->subject_common_name(), "hsm-1");
  EXPECT_EQ(leaf->subject_organization(), "Coffer Test");
  EXPECT_EQ(leaf->issuer_common_name(), "Root");
  EXPECT_EQ(leaf->not_before_unix(), spec.not_before_unix);
  EXPECT_EQ(leaf->not_after_unix(), spec.not_after_unix);
  EXPECT_FALSE(leaf->is_ca());
  EXPECT_TRUE(leaf->tls_server_auth());
  EXPECT_FALSE(leaf->tls_client_auth());
  EXPECT_THAT(leaf->dns_names(),
              ElementsAre("hsm-1.coffer.test", "*.cluster.coffer.test"));
  EXPECT_THAT(leaf->ip_addresses(), ElementsAre("127.0.0.1", "::1"));
  EXPECT_EQ(leaf->public_key().algorithm(), subject_alg);
  EXPECT_EQ(Der(leaf->public_key()), Der(subject));
  EXPECT_FALSE(leaf->serial_hex().empty());
  EXPECT_LE(leaf->serial_hex().size(), 32u);
  EXPECT_NE(leaf->serial_hex(), root.serial_hex());

  // PEM and DER round trips give back the same certificate.
  auto from_pem = Certificate::FromPem(leaf->ToPem());
  ASSERT_THAT(from_pem, IsOk());
  EXPECT_EQ(from_pem->ToDer(), leaf->ToDer());
  auto from_der = Certificate::FromDer(leaf->ToDer());
  ASSERT_THAT(from_der, IsOk());
  EXPECT_EQ(from_der->serial_hex(), leaf->serial_hex());
  EXPECT_THAT(VerifyChain(*from_der, {}, {root}, kNow), IsOk());
  // A leaf that is itself an anchor verifies (pinning).
  EXPECT_THAT(VerifyChain(*from_der, {}, {*from_pem}, kNow), IsOk());

  // Another root with the same name but another key is not an anchor.
  const Certificate impostor = Root(issuer_alg, 2);
  EXPECT_THAT(VerifyChain(*leaf, {}, {impostor}, kNow),
              StatusIs(Code::kDataLoss, HasSubstr("depth 0")));
  // Outside the validity period.
  EXPECT_THAT(VerifyChain(*leaf, {}, {root}, kNow + 400 * kDay),
              StatusIs(Code::kDataLoss, HasSubstr("expired")));
  EXPECT_THAT(VerifyChain(*leaf, {}, {root}, kNow - 2 * kDay),
              StatusIs(Code::kDataLoss, HasSubstr("not yet valid")));

  // A flipped bit in the signature breaks the chain.
  Bytes der = leaf->ToDer();
  der[der.size() - 5] ^= 0x01;
  auto tampered = Certificate::FromDer(der);
  ASSERT_THAT(tampered, IsOk());
  EXPECT_THAT(VerifyChain(*tampered, {}, {root}, kNow),
              StatusIs(Code::kDataLoss, HasSubstr("signature")));
}

INSTANTIATE_TEST_SUITE_P(
    AllKeyPairs, IssueTest,
    ::testing::Combine(::testing::ValuesIn(kAllAlgorithms),
                       ::testing::ValuesIn(kAllAlgorithms)),
    [](const auto& test) {
      return AlgorithmName(std::get<0>(test.param)) + "Issues" +
             AlgorithmName(std::get<1>(test.param));
    });

TEST(X509Test, IntermediateChainAndPathLength) {
  const Certificate root = Root(KeyAlgorithm::kEcP384);
  CertificateSpec ca_spec =
      Spec("Intermediate", CertificateUsage::kCertificateAuthority);
  ca_spec.ca_path_length = 0;
  auto intermediate = Issue(Key(KeyAlgorithm::kEcP384), root,
                            Key(KeyAlgorithm::kRsa).public_key(), ca_spec);
  ASSERT_THAT(intermediate, IsOk());
  EXPECT_TRUE(intermediate->is_ca());
  EXPECT_EQ(intermediate->ca_path_length(), 0);

  auto leaf = Issue(Key(KeyAlgorithm::kRsa), *intermediate,
                    Key(KeyAlgorithm::kEd25519).public_key(),
                    Spec("client", CertificateUsage::kTlsClient));
  ASSERT_THAT(leaf, IsOk());
  EXPECT_TRUE(leaf->tls_client_auth());
  EXPECT_FALSE(leaf->tls_server_auth());
  EXPECT_THAT(VerifyChain(*leaf, {*intermediate}, {root}, kNow), IsOk());
  EXPECT_THAT(VerifyChain(*leaf, {}, {root}, kNow),
              StatusIs(Code::kDataLoss, HasSubstr("issuer")));
  // Any anchor is trusted as such, self-signed or not.
  EXPECT_THAT(VerifyChain(*leaf, {}, {*intermediate}, kNow), IsOk());
  EXPECT_THAT(VerifyChain(*leaf, {}, {}, kNow),
              StatusIs(Code::kInvalidArgument));

  // pathlen:0 forbids another CA below the intermediate.
  ca_spec.common_name = "Sub";
  ca_spec.ca_path_length = -1;
  auto sub = Issue(Key(KeyAlgorithm::kRsa), *intermediate,
                   Key(KeyAlgorithm::kEcP256).public_key(), ca_spec);
  ASSERT_THAT(sub, IsOk());
  auto deep = Issue(Key(KeyAlgorithm::kEcP256), *sub,
                    Key(KeyAlgorithm::kEcP256, 1).public_key(),
                    Spec("deep", CertificateUsage::kSigning));
  ASSERT_THAT(deep, IsOk());
  EXPECT_THAT(VerifyChain(*deep, {*sub, *intermediate}, {root}, kNow),
              StatusIs(Code::kDataLoss, HasSubstr("path length")));
}

TEST(X509Test, UsagesSetTheirExtensions) {
  const Certificate root = Root(KeyAlgorithm::kEcP256);
  const PublicKey subject = Key(KeyAlgorithm::kEcP256, 1).public_key();
  auto both = Issue(Key(KeyAlgorithm::kEcP256), root, subject,
                    Spec("both", CertificateUsage::kTlsServerAndClient));
  ASSERT_THAT(both, IsOk());
  EXPECT_TRUE(both->tls_server_auth());
  EXPECT_TRUE(both->tls_client_auth());
  auto device = Issue(Key(KeyAlgorithm::kEcP256), root, subject,
                      Spec("device", CertificateUsage::kSigning));
  ASSERT_THAT(device, IsOk());
  EXPECT_FALSE(device->tls_server_auth());
  EXPECT_FALSE(device->tls_client_auth());
  EXPECT_FALSE(device->is_ca());
  EXPECT_TRUE(device->dns_names().empty());
  EXPECT_NE(device->serial_hex(), both->serial_hex());
}

TEST(X509Test, IssueRefusesBadIssuersAndSpecs) {
  const PrivateKey& ca_key = Key(KeyAlgorithm::kEcP256);
  const Certificate root = Root(KeyAlgorithm::kEcP256);
  const PublicKey subject = Key(KeyAlgorithm::kEcP256, 1).public_key();
  const CertificateSpec good = Spec("leaf", CertificateUsage::kTlsServer);
  ASSERT_THAT(Issue(ca_key, root, subject, good), IsOk());

  auto leaf = Issue(ca_key, root, subject, good).value();
  EXPECT_THAT(Issue(Key(KeyAlgorithm::kEcP256, 1), leaf, subject, good),
              StatusIs(Code::kInvalidArgument, HasSubstr("not a CA")));
  EXPECT_THAT(Issue(Key(KeyAlgorithm::kEcP256, 1), root, subject, good),
              StatusIs(Code::kInvalidArgument, HasSubstr("does not match")));

  std::vector<CertificateSpec> bad(10, good);
  bad[0].common_name = "";
  bad[1].common_name = std::string(65, 'x');
  bad[2].common_name = "new\nline";
  bad[3].dns_names = {"a..b"};
  bad[4].dns_names = {"bad name,IP:1.2.3.4"};
  bad[5].ip_addresses = {"1.2.3.4junk"};
  bad[6].not_after_unix = bad[6].not_before_unix;
  bad[7].ca_path_length = 0;         // not a CA
  bad[8].organization = "\xff\xfe";  // not UTF-8
  bad[9].not_before_unix = -1;
  for (const CertificateSpec& spec : bad) {
    EXPECT_THAT(Issue(ca_key, root, subject, spec),
                StatusIs(Code::kInvalidArgument))
        << spec.common_name;
  }
}

TEST(X509Test, RequestsRoundTripAndIssue) {
  const Certificate root = Root(KeyAlgorithm::kRsa);
  for (KeyAlgorithm algorithm : kAllAlgorithms) {
    SCOPED_TRACE(AlgorithmName(algorithm));
    const PrivateKey& key = Key(algorithm, 1);
    auto csr = CertificateRequest::Create(key, "cluster-42", "Customer Inc");
    ASSERT_THAT(csr, IsOk());
    EXPECT_THAT(csr->ToPem(), HasSubstr("-----BEGIN CERTIFICATE REQUEST-----"));
    auto parsed = CertificateRequest::FromPem(csr->ToPem());
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(parsed->subject_common_name(), "cluster-42");
    EXPECT_EQ(parsed->subject_organization(), "Customer Inc");
    EXPECT_EQ(Der(parsed->public_key()), Der(key.public_key()));
    EXPECT_THAT(CertificateRequest::FromDer(csr->ToDer()), IsOk());

    CertificateSpec spec = Spec("", CertificateUsage::kCertificateAuthority);
    spec.organization.clear();
    spec.ca_path_length = 0;
    auto cert = Issue(Key(KeyAlgorithm::kRsa), root, *parsed, spec);
    ASSERT_THAT(cert, IsOk());
    EXPECT_EQ(cert->subject_common_name(), "cluster-42");
    EXPECT_EQ(cert->subject_organization(), "Customer Inc");
    EXPECT_EQ(Der(cert->public_key()), Der(key.public_key()));
    EXPECT_THAT(VerifyChain(*cert, {}, {root}, kNow), IsOk());

    spec.common_name = "renamed by the CA";
    auto renamed = Issue(Key(KeyAlgorithm::kRsa), root, *parsed, spec);
    ASSERT_THAT(renamed, IsOk());
    EXPECT_EQ(renamed->subject_common_name(), "renamed by the CA");
  }
}

TEST(X509Test, TamperedRequestsAreRejected) {
  auto csr = CertificateRequest::Create(Key(KeyAlgorithm::kEcP256),
                                        "cluster-42", "Customer Inc");
  ASSERT_THAT(csr, IsOk());
  // Change the CN inside the signed part: still parses, signature fails.
  Bytes der = csr->ToDer();
  const std::string cn = "cluster-42";
  auto at = std::search(der.begin(), der.end(), cn.begin(), cn.end());
  ASSERT_NE(at, der.end());
  at[cn.size() - 1] = '3';
  EXPECT_THAT(CertificateRequest::FromDer(der),
              StatusIs(Code::kDataLoss, HasSubstr("does not verify")));
  // A changed base64 character near the end of the PEM lands in the
  // signature.
  std::string pem = csr->ToPem();
  size_t pos = pem.find("-----END");
  ASSERT_NE(pos, std::string::npos);
  pos -= 10;  // skips the newline, stays clear of any '=' padding
  pem[pos] = pem[pos] == 'A' ? 'B' : 'A';
  EXPECT_THAT(CertificateRequest::FromPem(pem), StatusIs(Code::kDataLoss));

  EXPECT_THAT(CertificateRequest::FromPem("garbage"),
              StatusIs(Code::kInvalidArgument));
  der = csr->ToDer();
  der.push_back(0);
  EXPECT_THAT(CertificateRequest::FromDer(der),
              StatusIs(Code::kInvalidArgument, HasSubstr("trailing")));
  EXPECT_THAT(CertificateRequest::FromPem(Root(KeyAlgorithm::kEcP256).ToPem()),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(CertificateRequest::Create(Key(KeyAlgorithm::kEcP256), ""),
              StatusIs(Code::kInvalidArgument));
}

TEST(X509Test, ParsingIsStrict) {
  const Certificate root = Root(KeyAlgorithm::kEd25519);
  Bytes der = root.ToDer();
  der.push_back(0);
  EXPECT_THAT(Certificate::FromDer(der),
              StatusIs(Code::kInvalidArgument, HasSubstr("trailing")));
  EXPECT_THAT(Certificate::FromDer({}), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(Certificate::FromPem("not a certificate"),
              StatusIs(Code::kInvalidArgument));

  // A bundle: AllFromPem reads both, FromPem wants exactly one.
  const Certificate other = Root(KeyAlgorithm::kEcP256);
  const std::string bundle =
      "comment\n" + root.ToPem() + "between\n" + other.ToPem();
  auto all = Certificate::AllFromPem(bundle);
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].ToDer(), other.ToDer());
  EXPECT_THAT(Certificate::FromPem(bundle),
              StatusIs(Code::kInvalidArgument, HasSubstr("found 2")));
  EXPECT_THAT(Certificate::FromPem("text\n" + root.ToPem() + "text\n"), IsOk());
  auto key_pem = Key(KeyAlgorithm::kEcP256).public_key().ToPem();
  EXPECT_THAT(Certificate::AllFromPem(root.ToPem() + *key_pem),
              StatusIs(Code::kInvalidArgument, HasSubstr("PUBLIC KEY")));
}

TEST(X509Test, SharedCertificatesVerifyConcurrently) {
  const Certificate root = Root(KeyAlgorithm::kEcP256);
  const Certificate leaf = Issue(Key(KeyAlgorithm::kEcP256), root,
                                 Key(KeyAlgorithm::kEd25519).public_key(),
                                 Spec("leaf", CertificateUsage::kTlsServer))
                               .value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_THAT(VerifyChain(leaf, {}, {root}, kNow), IsOk());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace
}  // namespace coffer::crypto
