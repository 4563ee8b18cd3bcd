#include "hsm/policy.h"

namespace coffer::hsm {
namespace {

// Everything a rule may look at. `mech` is null when a key is being created
// rather than used.
struct Request {
  KeyType key_type = KeyType::kAes;
  uint32_t bits = 0;
  const MechanismParams* mech = nullptr;
  KeyUse use = KeyUse::kSign;
};

bool Uses(const Request& r, Mechanism m) {
  return r.mech != nullptr && r.mech->mechanism == m;
}

bool IsEd25519(const Request& r) {
  return r.key_type == KeyType::kEd25519 || Uses(r, Mechanism::kEddsa);
}

bool IsShortRsa(const Request& r) {
  return r.key_type == KeyType::kRsa && r.bits < 2048;
}

// PKCS#1 v1.5 signatures stay approved (FIPS 186-5); its encryption does
// not (SP 800-131A Rev. 2 disallowed it after 2023 for key transport).
bool IsPkcs1Encryption(const Request& r) {
  return Uses(r, Mechanism::kRsaPkcs) && r.use != KeyUse::kSign &&
         r.use != KeyUse::kVerify;
}

// SP 800-131A: SHA-1 is disallowed for signature generation and allowed for
// verifying legacy signatures, so only signing is refused. HMAC-SHA-1 stays
// acceptable and is not a signature.
bool IsSha1Signature(const Request& r) {
  const bool signature = Uses(r, Mechanism::kRsaPkcs) ||
                         Uses(r, Mechanism::kRsaPkcsPss) ||
                         Uses(r, Mechanism::kEcdsa);
  return signature && r.use == KeyUse::kSign &&
         r.mech->hash == crypto::HashAlg::kSha1;
}

// SP 800-38D §5.2.1.2: 32- and 64-bit tags only under Appendix C's limits,
// which the HSM cannot check for its callers.
bool IsShortGcmTag(const Request& r) {
  return Uses(r, Mechanism::kAesGcm) && r.mech->tag_bits < 96;
}

struct Rule {
  const char* refusal;  // also the rule's description
  bool (*refuses)(const Request&);
};

constexpr Rule kFipsRules[] = {
    {"FIPS mode: Ed25519 is not an approved algorithm", IsEd25519},
    {"FIPS mode: RSA keys must have at least 2048 bits", IsShortRsa},
    {"FIPS mode: RSA PKCS#1 v1.5 encryption and key wrapping are not "
     "approved; use RSA-OAEP",
     IsPkcs1Encryption},
    {"FIPS mode: SHA-1 is not approved for signature generation; use SHA-2",
     IsSha1Signature},
    {"FIPS mode: AES-GCM tags shorter than 96 bits are not approved",
     IsShortGcmTag},
};

absl::Status Evaluate(Mode mode, const Request& request) {
  if (mode != Mode::kFips) return absl::OkStatus();
  for (const Rule& rule : kFipsRules) {
    if (rule.refuses(request)) return absl::PermissionDeniedError(rule.refusal);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckKeyGeneration(Mode mode, KeyType type, uint32_t bits) {
  return Evaluate(mode, Request{type, bits});
}

absl::Status CheckKeyImport(Mode mode, KeyType type, uint32_t bits) {
  return Evaluate(mode, Request{type, bits});
}

absl::Status CheckMechanism(Mode mode, const MechanismParams& mech,
                            const KeyAttributes& key, KeyUse use) {
  return Evaluate(mode, Request{key.key_type, key.bits, &mech, use});
}

std::vector<std::string> FipsRules() {
  std::vector<std::string> out;
  for (const Rule& rule : kFipsRules) out.emplace_back(rule.refusal);
  return out;
}

}  // namespace coffer::hsm
