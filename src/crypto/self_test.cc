#include "crypto/self_test.h"

#include <functional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/asymmetric.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/key_wrap.h"
#include "crypto/mac.h"

namespace coffer::crypto {
namespace {

// Vectors are written as hex so they can be checked against their sources
// at a glance. A typo here is caught: every KAT must pass in CI.
Bytes Hex(std::string_view hex) { return HexDecode(hex).value(); }
SecretBytes SecretHex(std::string_view hex) {
  return SecretBytes::CopyOf(Hex(hex));
}

absl::Status Expect(ByteView got, std::string_view want_hex) {
  if (!ConstantTimeEquals(got, Hex(want_hex))) {
    return absl::InternalError("output differs from the known answer");
  }
  return absl::OkStatus();
}

// RFC 3394 §4.6: 256-bit key data under a 256-bit KEK.
absl::Status KwKat() {
  COFFER_ASSIGN_OR_RETURN(
      AesKeyWrap kw,
      AesKeyWrap::Create(KeyWrapMode::kKw,
                         SecretHex("000102030405060708090a0b0c0d0e0f10111213141"
                                   "5161718191a1b1c1d1e1f")));
  const std::string_view key =
      "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f";
  const std::string_view wrapped =
      "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b"
      "7a02dd21";
  COFFER_ASSIGN_OR_RETURN(Bytes out, kw.Wrap(Hex(key)));
  COFFER_RETURN_IF_ERROR(Expect(out, wrapped));
  COFFER_ASSIGN_OR_RETURN(SecretBytes back, kw.Unwrap(Hex(wrapped)));
  return Expect(back.ExposeSecret(), key);
}

// RFC 5649 §6: 20-byte key data under a 192-bit KEK.
absl::Status KwpKat() {
  COFFER_ASSIGN_OR_RETURN(
      AesKeyWrap kwp,
      AesKeyWrap::Create(
          KeyWrapMode::kKwp,
          SecretHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")));
  const std::string_view key = "c37b7e6492584340bed12207808941155068f738";
  const std::string_view wrapped =
      "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a";
  COFFER_ASSIGN_OR_RETURN(Bytes out, kwp.Wrap(Hex(key)));
  COFFER_RETURN_IF_ERROR(Expect(out, wrapped));
  COFFER_ASSIGN_OR_RETURN(SecretBytes back, kwp.Unwrap(Hex(wrapped)));
  return Expect(back.ExposeSecret(), key);
}

// NIST CAVP KBKDF, [PRF=HMAC_SHA256] [CTRLOCATION=BEFORE_FIXED]
// [RLEN=32_BITS] COUNT=0 (opaque fixed input).
absl::Status KbkdfKat() {
  KbkdfOptions options;
  options.use_separator = false;
  options.use_length = false;
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes out,
      KbkdfCounter(
          SecretHex("dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae2"
                    "38afe0"),
          Hex("01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46"
              "b864a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac"),
          {}, 16, options));
  return Expect(out.ExposeSecret(), "10621342bfb0fd40046c0e29f2cfdbf0");
}

// GCM specification (McGrew & Viega) test case 14: AES-256, zero key/IV.
absl::Status GcmKat() {
  COFFER_ASSIGN_OR_RETURN(AesGcm gcm, AesGcm::Create(SecretBytes(32)));
  const Bytes iv(12, 0);
  const Bytes plaintext(16, 0);
  const std::string_view want =
      "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919";
  COFFER_ASSIGN_OR_RETURN(Bytes out, gcm.EncryptWithIv(iv, plaintext, {}));
  COFFER_RETURN_IF_ERROR(Expect(out, want));
  COFFER_ASSIGN_OR_RETURN(SecretBytes back, gcm.DecryptWithIv(iv, out, {}));
  return Expect(back.ExposeSecret(), "00000000000000000000000000000000");
}

// RFC 4231 test case 2.
absl::Status HmacKat(HashAlg hash, std::string_view want) {
  COFFER_ASSIGN_OR_RETURN(
      Hmac mac, Hmac::Create(hash, SecretBytes::CopyOf(AsBytes("Jefe"))));
  COFFER_ASSIGN_OR_RETURN(Bytes tag,
                          mac.Compute(AsBytes("what do ya want for nothing?")));
  return Expect(tag, want);
}

// FIPS 180-4 examples: "abc".
absl::Status DigestKat(HashAlg hash, std::string_view want) {
  COFFER_ASSIGN_OR_RETURN(Bytes out, Digest(hash, AsBytes("abc")));
  return Expect(out, want);
}

// RFC 8032 §7.1 test 1 (empty message), the key wrapped as PKCS#8.
absl::Status Ed25519Kat() {
  COFFER_ASSIGN_OR_RETURN(
      PrivateKey key,
      PrivateKey::FromPkcs8Der(SecretHex(
          "302e020100300506032b6570042204209d61b19deffd5a60ba844af492ec2cc444"
          "49c5697b326919703bac031cae7f60")));
  const SignatureParams params{SignatureAlgorithm::kEd25519};
  COFFER_ASSIGN_OR_RETURN(Bytes sig, key.Sign(params, {}));
  COFFER_RETURN_IF_ERROR(Expect(
      sig,
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e0652249015"
      "55fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"));
  return key.public_key().Verify(params, {}, sig);
}

// Pairwise consistency: a fresh key signs, its public half verifies, and a
// changed message does not.
absl::Status SignPct(KeyAlgorithm algorithm, SignatureParams params) {
  COFFER_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(algorithm));
  const Bytes message = Hex("00112233445566778899");
  COFFER_ASSIGN_OR_RETURN(Bytes sig, key.Sign(params, message));
  COFFER_RETURN_IF_ERROR(key.public_key().Verify(params, message, sig));
  if (key.public_key().Verify(params, Hex("00"), sig).ok()) {
    return absl::InternalError("a wrong message verified");
  }
  return absl::OkStatus();
}

absl::Status OaepPct() {
  COFFER_ASSIGN_OR_RETURN(PrivateKey key,
                          PrivateKey::Generate(KeyAlgorithm::kRsa, 2048));
  const Bytes secret = Hex("0102030405060708090a0b0c0d0e0f10");
  COFFER_ASSIGN_OR_RETURN(
      Bytes ct, key.public_key().EncryptOaep(HashAlg::kSha256, secret));
  COFFER_ASSIGN_OR_RETURN(SecretBytes back,
                          key.DecryptOaep(HashAlg::kSha256, ct));
  return Expect(back.ExposeSecret(), "0102030405060708090a0b0c0d0e0f10");
}

absl::Status EcdhPct() {
  COFFER_ASSIGN_OR_RETURN(PrivateKey a,
                          PrivateKey::Generate(KeyAlgorithm::kEcP256));
  COFFER_ASSIGN_OR_RETURN(PrivateKey b,
                          PrivateKey::Generate(KeyAlgorithm::kEcP256));
  COFFER_ASSIGN_OR_RETURN(SecretBytes ab, a.DeriveEcdh(b.public_key()));
  COFFER_ASSIGN_OR_RETURN(SecretBytes ba, b.DeriveEcdh(a.public_key()));
  if (!ConstantTimeEquals(ab.ExposeSecret(), ba.ExposeSecret())) {
    return absl::InternalError("the two sides derived different secrets");
  }
  return absl::OkStatus();
}

struct NamedTest {
  const char* name;
  std::function<absl::Status()> run;
};

}  // namespace

std::vector<SelfTestResult> RunSelfTests() {
  const NamedTest tests[] = {
      {"AES-256-KW wrap/unwrap KAT (RFC 3394)", KwKat},
      {"AES-192-KWP wrap/unwrap KAT (RFC 5649)", KwpKat},
      {"KBKDF counter HMAC-SHA256 KAT (NIST CAVP)", KbkdfKat},
      {"AES-256-GCM encrypt/decrypt KAT (GCM spec case 14)", GcmKat},
      {"HMAC-SHA256 KAT (RFC 4231)",
       [] {
         return HmacKat(HashAlg::kSha256,
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58"
                        "b964ec3843");
       }},
      {"HMAC-SHA512 KAT (RFC 4231)",
       [] {
         return HmacKat(HashAlg::kSha512,
                        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270c"
                        "d7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a"
                        "6b4b636e070a38bce737");
       }},
      {"SHA-256 KAT (FIPS 180-4)",
       [] {
         return DigestKat(HashAlg::kSha256,
                          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
                          "ff61f20015ad");
       }},
      {"SHA-384 KAT (FIPS 180-4)",
       [] {
         return DigestKat(HashAlg::kSha384,
                          "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b"
                          "605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
       }},
      {"SHA-512 KAT (FIPS 180-4)",
       [] {
         return DigestKat(HashAlg::kSha512,
                          "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9e"
                          "eee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423"
                          "643ce80e2a9ac94fa54ca49f");
       }},
      {"Ed25519 sign/verify KAT (RFC 8032)", Ed25519Kat},
      {"ECDSA P-256 pairwise consistency",
       [] {
         return SignPct(KeyAlgorithm::kEcP256,
                        {SignatureAlgorithm::kEcdsaDer, HashAlg::kSha256});
       }},
      {"ECDSA P-384 pairwise consistency",
       [] {
         return SignPct(KeyAlgorithm::kEcP384,
                        {SignatureAlgorithm::kEcdsaP1363, HashAlg::kSha384});
       }},
      {"RSA-2048 PSS pairwise consistency",
       [] {
         return SignPct(KeyAlgorithm::kRsa,
                        {SignatureAlgorithm::kRsaPss, HashAlg::kSha256});
       }},
      {"RSA-2048 OAEP pairwise consistency", OaepPct},
      {"ECDH P-256 pairwise consistency", EcdhPct},
  };
  std::vector<SelfTestResult> results;
  for (const NamedTest& test : tests) {
    results.push_back({test.name, test.run()});
  }
  return results;
}

absl::Status SelfTestsPass() {
  for (const SelfTestResult& result : RunSelfTests()) {
    if (!result.status.ok()) {
      return absl::InternalError(
          absl::StrCat("crypto self-test failed: ", result.name, ": ",
                       result.status.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace coffer::crypto
