// Project Wycheproof (C2SP/wycheproof) vectors for the primitives Coffer
// exposes: AES-KW/KWP, AES-GCM, HMAC-SHA256, ECDSA P-256 (DER and P1363),
// RSA PKCS#1 v1.5 and PSS verification, and PKCS#1 v1.5 signing. The JSON
// files are copied unmodified into testdata/wycheproof/ (see ORIGIN.md).
//
// Each file is one parameterized test. A per-file check runs the operation
// and classifies what happened; one shared loop compares that with the
// test's expected `result`:
//   valid       must be accepted, with exactly the expected output;
//   invalid     must be rejected with DataLoss or InvalidArgument (crypto.h);
//   acceptable  may go either way and is only counted;
// and a wrong output or an undocumented error code fails whatever the
// result. A valid case using a parameter our API deliberately lacks (a GCM
// IV outside 1..AesGcm::kMaxIvSize bytes) is counted as unsupported.
#include <array>
#include <cstdio>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/bytes.h"
#include "crypto/aead.h"
#include "crypto/asymmetric.h"
#include "crypto/hash.h"
#include "crypto/key_wrap.h"
#include "crypto/mac.h"
#include "crypto/secret_bytes.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/status_matchers.h"
#include "testing/test_files.h"

namespace coffer::crypto {
namespace {

using ::coffer::testing::IsOk;
using json = ::nlohmann::json;

// What one operation did with one test.
struct Outcome {
  enum Kind { kAccepted, kRejected, kUnsupported, kWrong };
  Kind kind = kWrong;
  std::string detail;  // why, for the failure message
};

Outcome Accepted() { return {Outcome::kAccepted, ""}; }
Outcome Unsupported(std::string detail) {
  return {Outcome::kUnsupported, std::move(detail)};
}
Outcome Wrong(std::string detail) {
  return {Outcome::kWrong, std::move(detail)};
}
// A rejection must carry one of the codes crypto.h documents for bad input
// or failed authentication; anything else (e.g. Internal) is a failure.
Outcome Rejected(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kDataLoss ||
      status.code() == absl::StatusCode::kInvalidArgument) {
    return {Outcome::kRejected, status.ToString()};
  }
  return Wrong(
      absl::StrCat("rejected with an undocumented code: ", status.ToString()));
}

bool Same(ByteView a, ByteView b) { return a == b; }

// Decodes the hex string fields `names` of a JSON object, in order.
template <size_t N>
absl::StatusOr<std::array<Bytes, N>> HexFields(const json& object,
                                               const char* const (&names)[N]) {
  std::array<Bytes, N> values;
  for (size_t i = 0; i < N; ++i) {
    auto it = object.find(names[i]);
    if (it == object.end() || !it->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("no string field \"", names[i], "\""));
    }
    absl::StatusOr<Bytes> value =
        HexDecode(it->template get_ref<const std::string&>());
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("field \"", names[i], "\": ", value.status().message()));
    }
    values[i] = *std::move(value);
  }
  return values;
}

Outcome BadVector(const absl::Status& status) {
  return Wrong(absl::StrCat("cannot read the vector: ", status.ToString()));
}

std::optional<HashAlg> HashFromName(std::string_view name) {
  static constexpr std::pair<std::string_view, HashAlg> kHashes[] = {
      {"SHA-1", HashAlg::kSha1},     {"SHA-224", HashAlg::kSha224},
      {"SHA-256", HashAlg::kSha256}, {"SHA-384", HashAlg::kSha384},
      {"SHA-512", HashAlg::kSha512},
  };
  for (const auto& [hash_name, hash] : kHashes) {
    if (hash_name == name) return hash;
  }
  return std::nullopt;
}

struct FileSpec;
using CheckFn = Outcome (*)(const FileSpec& spec, const json& group,
                            const json& test);

// One Wycheproof file and how to run its tests.
struct FileSpec {
  const char* file;
  CheckFn check;
  KeyWrapMode wrap_mode = KeyWrapMode::kKw;                      // key wrap
  SignatureAlgorithm signature = SignatureAlgorithm::kEcdsaDer;  // signatures
};

void PrintTo(const FileSpec& spec, std::ostream* os) { *os << spec.file; }

// ---------------------------------------------------------------------------
// Per-file checks.

// Accepted only if Unwrap(ct) == msg and Wrap(msg) == ct. Unwrap accepting
// a ciphertext whose message Wrap refuses is itself wrong: key_wrap.h
// promises Unwrap rejects lengths no wrap can have.
Outcome CheckKeyWrap(const FileSpec& spec, const json& /*group*/,
                     const json& test) {
  absl::StatusOr<std::array<Bytes, 3>> fields =
      HexFields(test, {"key", "msg", "ct"});
  if (!fields.ok()) return BadVector(fields.status());
  const auto& [key, msg, ct] = *fields;
  absl::StatusOr<AesKeyWrap> wrap =
      AesKeyWrap::Create(spec.wrap_mode, SecretBytes::CopyOf(key));
  if (!wrap.ok()) return Rejected(wrap.status());
  absl::StatusOr<SecretBytes> unwrapped = wrap->Unwrap(ct);
  if (!unwrapped.ok()) return Rejected(unwrapped.status());
  if (!Same(unwrapped->ExposeSecret(), msg)) {
    return Wrong("Unwrap returned a message other than msg");
  }
  absl::StatusOr<Bytes> wrapped = wrap->Wrap(msg);
  if (!wrapped.ok()) {
    return Wrong(absl::StrCat("Unwrap accepted ct but Wrap rejects msg: ",
                              wrapped.status().ToString()));
  }
  if (!Same(*wrapped, ct)) return Wrong("Wrap(msg) differs from ct");
  return Accepted();
}

Outcome CheckAesGcm(const FileSpec& /*spec*/, const json& group,
                    const json& test) {
  absl::StatusOr<std::array<Bytes, 6>> fields =
      HexFields(test, {"key", "iv", "aad", "msg", "ct", "tag"});
  if (!fields.ok()) return BadVector(fields.status());
  const auto& [key, iv, aad, msg, ct, tag] = *fields;
  const size_t tag_size = group.value("tagSize", 0) / 8;
  absl::StatusOr<AesGcm> gcm = AesGcm::Create(SecretBytes::CopyOf(key));
  if (!gcm.ok()) return Rejected(gcm.status());
  Bytes ct_and_tag = ct;
  ct_and_tag.insert(ct_and_tag.end(), tag.begin(), tag.end());
  absl::StatusOr<SecretBytes> opened =
      gcm->DecryptWithIv(iv, ct_and_tag, aad, tag_size);
  if (!opened.ok()) {
    if (opened.status().code() == absl::StatusCode::kInvalidArgument &&
        (iv.empty() || iv.size() > AesGcm::kMaxIvSize)) {
      return Unsupported(absl::StrCat(iv.size(), "-byte IV"));
    }
    return Rejected(opened.status());
  }
  if (!Same(opened->ExposeSecret(), msg)) {
    return Wrong("DecryptWithIv returned a message other than msg");
  }
  absl::StatusOr<Bytes> sealed = gcm->EncryptWithIv(iv, msg, aad, tag_size);
  if (!sealed.ok()) {
    return Wrong(
        absl::StrCat("DecryptWithIv accepted but EncryptWithIv fails: ",
                     sealed.status().ToString()));
  }
  if (!Same(*sealed, ct_and_tag)) return Wrong("EncryptWithIv != ct || tag");
  return Accepted();
}

// Verify() must agree with Compute(): it accepts exactly when the tag is the
// first tagSize/8 bytes of the full HMAC.
Outcome CheckHmacSha256(const FileSpec& /*spec*/, const json& group,
                        const json& test) {
  absl::StatusOr<std::array<Bytes, 3>> fields =
      HexFields(test, {"key", "msg", "tag"});
  if (!fields.ok()) return BadVector(fields.status());
  const auto& [key, msg, tag] = *fields;
  const size_t tag_size = group.value("tagSize", 0) / 8;
  absl::StatusOr<Hmac> hmac =
      Hmac::Create(HashAlg::kSha256, SecretBytes::CopyOf(key));
  if (!hmac.ok()) return Rejected(hmac.status());
  absl::StatusOr<Bytes> full_tag = hmac->Compute(msg);
  if (!full_tag.ok()) {
    return Wrong(absl::StrCat("Compute: ", full_tag.status().ToString()));
  }
  const bool computed = tag.size() == tag_size &&
                        tag_size <= full_tag->size() &&
                        Same(ByteView(*full_tag).first(tag_size), tag);
  const absl::Status verified = hmac->Verify(msg, tag);
  if (verified.ok() && !computed) {
    return Wrong("Verify accepted a tag that is not a prefix of Compute()");
  }
  if (!verified.ok() && computed) {
    return Wrong(absl::StrCat("Compute() reproduces the tag but Verify says ",
                              verified.ToString()));
  }
  return verified.ok() ? Accepted() : Rejected(verified);
}

// The group's hash (and, for PSS, MGF1 hash and salt length) as our params.
absl::StatusOr<SignatureParams> GroupSignatureParams(const FileSpec& spec,
                                                     const json& group) {
  const std::string sha = group.value("sha", "");
  std::optional<HashAlg> hash = HashFromName(sha);
  if (!hash.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown sha \"", sha, "\""));
  }
  SignatureParams params = {.algorithm = spec.signature, .hash = *hash};
  if (spec.signature == SignatureAlgorithm::kRsaPss) {
    if (group.value("mgf", "") != "MGF1" || group.value("mgfSha", "") != sha) {
      return absl::InvalidArgumentError("PSS group not MGF1 over its own sha");
    }
    params.pss_salt_size = group.value("sLen", -1);
  }
  return params;
}

Outcome CheckSignatureVerify(const FileSpec& spec, const json& group,
                             const json& test) {
  absl::StatusOr<SignatureParams> params = GroupSignatureParams(spec, group);
  if (!params.ok()) return BadVector(params.status());
  absl::StatusOr<std::array<Bytes, 1>> key_der =
      HexFields(group, {"publicKeyDer"});
  if (!key_der.ok()) return BadVector(key_der.status());
  absl::StatusOr<std::array<Bytes, 2>> fields = HexFields(test, {"msg", "sig"});
  if (!fields.ok()) return BadVector(fields.status());
  const auto& [msg, sig] = *fields;
  // The keys are well formed; only the signatures are under test.
  absl::StatusOr<PublicKey> key = PublicKey::FromDer((*key_der)[0]);
  if (!key.ok()) {
    return Wrong(absl::StrCat("PublicKey::FromDer(publicKeyDer): ",
                              key.status().ToString()));
  }
  const absl::Status verified = key->Verify(*params, msg, sig);
  return verified.ok() ? Accepted() : Rejected(verified);
}

// PKCS#1 v1.5 signing is deterministic, so Sign must reproduce `sig`. The
// file marks weak parameters (SHA-1, a small public exponent) acceptable:
// refusing the key or the hash is fine, a different signature is not.
Outcome CheckRsaSign(const FileSpec& spec, const json& group,
                     const json& test) {
  absl::StatusOr<SignatureParams> params = GroupSignatureParams(spec, group);
  if (!params.ok()) return BadVector(params.status());
  absl::StatusOr<std::array<Bytes, 1>> pkcs8 =
      HexFields(group, {"privateKeyPkcs8"});
  if (!pkcs8.ok()) return BadVector(pkcs8.status());
  absl::StatusOr<std::array<Bytes, 2>> fields = HexFields(test, {"msg", "sig"});
  if (!fields.ok()) return BadVector(fields.status());
  const auto& [msg, sig] = *fields;
  absl::StatusOr<PrivateKey> key =
      PrivateKey::FromPkcs8Der(SecretBytes::CopyOf((*pkcs8)[0]));
  if (!key.ok()) return Rejected(key.status());
  absl::StatusOr<Bytes> signature = key->Sign(*params, msg);
  if (!signature.ok()) return Rejected(signature.status());
  if (!Same(*signature, sig)) return Wrong("Sign(msg) differs from sig");
  const absl::Status verified =
      key->public_key().Verify(*params, msg, *signature);
  if (!verified.ok()) {
    return Wrong(absl::StrCat("the public key rejects the signature: ",
                              verified.ToString()));
  }
  return Accepted();
}

// ---------------------------------------------------------------------------
// The shared loop.

struct Tally {
  int checked = 0;
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
  int accepted = 0;  // acceptable tests our code accepted
  int unsupported = 0;
};

// Counts `outcome` under the expected `result`; returns why it fails, or ""
// if it agrees.
std::string Judge(const std::string& result, const Outcome& outcome,
                  Tally& tally) {
  ++tally.checked;
  const bool accepted = outcome.kind == Outcome::kAccepted;
  const bool unsupported = outcome.kind == Outcome::kUnsupported;
  std::string error;
  if (result == "valid") {
    ++tally.valid;
    if (unsupported) ++tally.unsupported;
    if (!accepted && !unsupported) {
      error = "valid test rejected: " + outcome.detail;
    }
  } else if (result == "invalid") {
    ++tally.invalid;
    if (accepted) error = "invalid test accepted";
  } else if (result == "acceptable") {
    ++tally.acceptable;
    if (accepted) ++tally.accepted;
    if (unsupported) ++tally.unsupported;
  } else {
    error = absl::StrCat("unknown result \"", result, "\"");
  }
  if (outcome.kind == Outcome::kWrong) error = outcome.detail;
  return error;
}

// "aes_gcm_test.json tcId 12 (comment; flags: A,B)".
std::string Where(const FileSpec& spec, const json& test) {
  std::string flags;
  if (auto it = test.find("flags"); it != test.end() && it->is_array()) {
    flags = absl::StrJoin(it->get<std::vector<std::string>>(), ",");
  }
  return absl::StrCat(spec.file, " tcId ", test.value("tcId", -1), " (",
                      test.value("comment", ""), "; flags: ", flags, ")");
}

// Reports the first few failing tests in full and counts the rest.
class Mismatches {
 public:
  static constexpr int kMaxShown = 10;

  void Add(const std::string& where, const std::string& what) {
    if (++count_ <= kMaxShown) ADD_FAILURE() << where << ": " << what;
  }
  int count() const { return count_; }

 private:
  int count_ = 0;
};

class WycheproofTest : public ::testing::TestWithParam<FileSpec> {};

TEST_P(WycheproofTest, AgreesWithExpectedResults) {
  const FileSpec& spec = GetParam();
  const std::string path =
      absl::StrCat(::coffer::testing::TestDataDir(), "/wycheproof/", spec.file);
  absl::StatusOr<std::string> text = ::coffer::testing::ReadTestFile(path);
  ASSERT_THAT(text, IsOk());
  const json root = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(root.is_discarded()) << path << " is not valid JSON";
  ASSERT_TRUE(root.contains("testGroups") && root["testGroups"].is_array())
      << path << " has no testGroups array";

  Tally tally;
  Mismatches mismatches;
  for (const json& group : root["testGroups"]) {
    for (const json& test : group.value("tests", json::array())) {
      const std::string error =
          Judge(test.value("result", ""), spec.check(spec, group, test), tally);
      if (!error.empty()) mismatches.Add(Where(spec, test), error);
    }
  }
  std::printf(
      "[vectors] Wycheproof %s: checked %d, valid %d, invalid %d, acceptable "
      "%d (accepted %d), unsupported %d\n",
      spec.file, tally.checked, tally.valid, tally.invalid, tally.acceptable,
      tally.accepted, tally.unsupported);
  std::fflush(stdout);
  ASSERT_GT(tally.checked, 0) << path << " holds no tests";
  EXPECT_EQ(tally.checked, root.value("numberOfTests", -1))
      << "tests run differ from the file's numberOfTests";
  EXPECT_EQ(mismatches.count(), 0)
      << "tests failed (at most " << Mismatches::kMaxShown << " shown)";
}

constexpr FileSpec kFiles[] = {
    {.file = "aes_wrap_test.json",
     .check = CheckKeyWrap,
     .wrap_mode = KeyWrapMode::kKw},
    {.file = "aes_kwp_test.json",
     .check = CheckKeyWrap,
     .wrap_mode = KeyWrapMode::kKwp},
    {.file = "aes_gcm_test.json", .check = CheckAesGcm},
    {.file = "hmac_sha256_test.json", .check = CheckHmacSha256},
    {.file = "ecdsa_secp256r1_sha256_test.json",
     .check = CheckSignatureVerify,
     .signature = SignatureAlgorithm::kEcdsaDer},
    {.file = "ecdsa_secp256r1_sha256_p1363_test.json",
     .check = CheckSignatureVerify,
     .signature = SignatureAlgorithm::kEcdsaP1363},
    {.file = "rsa_signature_2048_sha256_test.json",
     .check = CheckSignatureVerify,
     .signature = SignatureAlgorithm::kRsaPkcs1v15},
    {.file = "rsa_pss_2048_sha256_mgf1_32_test.json",
     .check = CheckSignatureVerify,
     .signature = SignatureAlgorithm::kRsaPss},
    {.file = "rsa_pkcs1_2048_sig_gen_test.json",
     .check = CheckRsaSign,
     .signature = SignatureAlgorithm::kRsaPkcs1v15},
};

// "aes_wrap_test.json" -> "aes_wrap".
std::string TestName(const ::testing::TestParamInfo<FileSpec>& info) {
  std::string name = info.param.file;
  name = name.substr(0, name.find("_test.json"));
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, WycheproofTest, ::testing::ValuesIn(kFiles),
                         TestName);

}  // namespace
}  // namespace coffer::crypto
