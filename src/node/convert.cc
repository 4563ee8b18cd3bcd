#include "node/convert.h"

#include <string.h>

#include "absl/strings/str_cat.h"

namespace coffer::node {

crypto::SecretBytes TakeSecret(std::string* field) {
  crypto::SecretBytes secret = crypto::SecretBytes::CopyOf(AsBytes(*field));
  explicit_bzero(field->data(), field->size());
  field->clear();
  return secret;
}

pb::Role ToProto(hsm::Role role) {
  switch (role) {
    case hsm::Role::kAdmin:
      return pb::ROLE_ADMIN;
    case hsm::Role::kCryptoUser:
      return pb::ROLE_CRYPTO_USER;
    case hsm::Role::kApplianceUser:
      return pb::ROLE_APPLIANCE_USER;
  }
  return pb::ROLE_UNSPECIFIED;
}

absl::StatusOr<hsm::Role> FromProto(pb::Role role) {
  switch (role) {
    case pb::ROLE_ADMIN:
      return hsm::Role::kAdmin;
    case pb::ROLE_CRYPTO_USER:
      return hsm::Role::kCryptoUser;
    case pb::ROLE_APPLIANCE_USER:
      return hsm::Role::kApplianceUser;
    default:
      return absl::InvalidArgumentError("a role is required");
  }
}

pb::Mode ToProto(hsm::Mode mode) {
  return mode == hsm::Mode::kFips ? pb::MODE_FIPS : pb::MODE_NON_FIPS;
}

absl::StatusOr<hsm::Mode> FromProto(pb::Mode mode) {
  switch (mode) {
    case pb::MODE_FIPS:
      return hsm::Mode::kFips;
    case pb::MODE_NON_FIPS:
      return hsm::Mode::kNonFips;
    default:
      return absl::InvalidArgumentError(
          "a mode (FIPS or NON_FIPS) is required");
  }
}

pb::HsmState ToProto(hsm::HsmState state) {
  switch (state) {
    case hsm::HsmState::kUncommissioned:
      return pb::HSM_STATE_UNCOMMISSIONED;
    case hsm::HsmState::kCommissioned:
      return pb::HSM_STATE_COMMISSIONED;
    case hsm::HsmState::kUnactivated:
      return pb::HSM_STATE_UNACTIVATED;
    case hsm::HsmState::kActive:
      return pb::HSM_STATE_ACTIVE;
    case hsm::HsmState::kTampered:
      return pb::HSM_STATE_TAMPERED;
  }
  return pb::HSM_STATE_UNSPECIFIED;
}

pb::KeyType ToProto(hsm::KeyType type) {
  switch (type) {
    case hsm::KeyType::kAes:
      return pb::KEY_TYPE_AES;
    case hsm::KeyType::kGenericSecret:
      return pb::KEY_TYPE_GENERIC_SECRET;
    case hsm::KeyType::kRsa:
      return pb::KEY_TYPE_RSA;
    case hsm::KeyType::kEcP256:
      return pb::KEY_TYPE_EC_P256;
    case hsm::KeyType::kEcP384:
      return pb::KEY_TYPE_EC_P384;
    case hsm::KeyType::kEd25519:
      return pb::KEY_TYPE_ED25519;
  }
  return pb::KEY_TYPE_UNSPECIFIED;
}

absl::StatusOr<hsm::KeyType> FromProto(pb::KeyType type) {
  switch (type) {
    case pb::KEY_TYPE_AES:
      return hsm::KeyType::kAes;
    case pb::KEY_TYPE_GENERIC_SECRET:
      return hsm::KeyType::kGenericSecret;
    case pb::KEY_TYPE_RSA:
      return hsm::KeyType::kRsa;
    case pb::KEY_TYPE_EC_P256:
      return hsm::KeyType::kEcP256;
    case pb::KEY_TYPE_EC_P384:
      return hsm::KeyType::kEcP384;
    case pb::KEY_TYPE_ED25519:
      return hsm::KeyType::kEd25519;
    default:
      return absl::InvalidArgumentError("a key type is required");
  }
}

pb::ObjectClass ToProto(hsm::ObjectClass c) {
  switch (c) {
    case hsm::ObjectClass::kSecretKey:
      return pb::OBJECT_CLASS_SECRET_KEY;
    case hsm::ObjectClass::kPrivateKey:
      return pb::OBJECT_CLASS_PRIVATE_KEY;
    case hsm::ObjectClass::kPublicKey:
      return pb::OBJECT_CLASS_PUBLIC_KEY;
    case hsm::ObjectClass::kCertificate:
      return pb::OBJECT_CLASS_CERTIFICATE;
  }
  return pb::OBJECT_CLASS_UNSPECIFIED;
}

absl::StatusOr<hsm::ObjectClass> FromProto(pb::ObjectClass c) {
  switch (c) {
    case pb::OBJECT_CLASS_SECRET_KEY:
      return hsm::ObjectClass::kSecretKey;
    case pb::OBJECT_CLASS_PRIVATE_KEY:
      return hsm::ObjectClass::kPrivateKey;
    case pb::OBJECT_CLASS_PUBLIC_KEY:
      return hsm::ObjectClass::kPublicKey;
    case pb::OBJECT_CLASS_CERTIFICATE:
      return hsm::ObjectClass::kCertificate;
    default:
      return absl::InvalidArgumentError("unknown object class");
  }
}

namespace {

std::optional<bool> Opt(bool has, const pb::OptionalBool& b) {
  return has ? std::optional<bool>(b.value()) : std::nullopt;
}

absl::StatusOr<crypto::HashAlg> FromProto(pb::HashAlg hash) {
  switch (hash) {
    case pb::HASH_ALG_UNSPECIFIED:
    case pb::HASH_ALG_SHA256:
      return crypto::HashAlg::kSha256;
    case pb::HASH_ALG_SHA1:
      return crypto::HashAlg::kSha1;
    case pb::HASH_ALG_SHA224:
      return crypto::HashAlg::kSha224;
    case pb::HASH_ALG_SHA384:
      return crypto::HashAlg::kSha384;
    case pb::HASH_ALG_SHA512:
      return crypto::HashAlg::kSha512;
    default:
      return absl::InvalidArgumentError("unknown hash algorithm");
  }
}

}  // namespace

absl::StatusOr<hsm::KeyTemplate> FromProto(const pb::KeyTemplate& t) {
  hsm::KeyTemplate out;
  absl::StatusOr<hsm::KeyType> type = FromProto(t.key_type());
  if (!type.ok()) return type.status();
  out.key_type = *type;
  out.bits = t.bits();
  out.label = t.label();
  out.id = Bytes(t.id().begin(), t.id().end());
  out.token = !t.session_object();
  out.sensitive = Opt(t.has_sensitive(), t.sensitive());
  out.extractable = Opt(t.has_extractable(), t.extractable());
  out.encrypt = Opt(t.has_encrypt(), t.encrypt());
  out.decrypt = Opt(t.has_decrypt(), t.decrypt());
  out.sign = Opt(t.has_sign(), t.sign());
  out.verify = Opt(t.has_verify(), t.verify());
  out.wrap = Opt(t.has_wrap(), t.wrap());
  out.unwrap = Opt(t.has_unwrap(), t.unwrap());
  out.derive = Opt(t.has_derive(), t.derive());
  out.wrap_with_trusted = Opt(t.has_wrap_with_trusted(), t.wrap_with_trusted());
  return out;
}

absl::StatusOr<hsm::KeyFilter> FromProto(const pb::KeyFilter& f) {
  hsm::KeyFilter out;
  if (f.object_class() != pb::OBJECT_CLASS_UNSPECIFIED) {
    absl::StatusOr<hsm::ObjectClass> c = FromProto(f.object_class());
    if (!c.ok()) return c.status();
    out.object_class = *c;
  }
  if (f.key_type() != pb::KEY_TYPE_UNSPECIFIED) {
    absl::StatusOr<hsm::KeyType> type = FromProto(f.key_type());
    if (!type.ok()) return type.status();
    out.key_type = *type;
  }
  if (f.has_label()) out.label = f.label();
  if (f.has_id()) out.id = Bytes(f.id().begin(), f.id().end());
  if (f.has_token()) out.token = f.token();
  return out;
}

hsm::AttributeChange FromProto(const pb::AttributeChange& c) {
  hsm::AttributeChange out;
  if (c.has_label()) out.label = c.label();
  if (c.has_id()) out.id = Bytes(c.id().begin(), c.id().end());
  out.sensitive = Opt(c.has_sensitive(), c.sensitive());
  out.extractable = Opt(c.has_extractable(), c.extractable());
  out.encrypt = Opt(c.has_encrypt(), c.encrypt());
  out.decrypt = Opt(c.has_decrypt(), c.decrypt());
  out.sign = Opt(c.has_sign(), c.sign());
  out.verify = Opt(c.has_verify(), c.verify());
  out.wrap = Opt(c.has_wrap(), c.wrap());
  out.unwrap = Opt(c.has_unwrap(), c.unwrap());
  out.derive = Opt(c.has_derive(), c.derive());
  out.trusted = Opt(c.has_trusted(), c.trusted());
  out.wrap_with_trusted = Opt(c.has_wrap_with_trusted(), c.wrap_with_trusted());
  return out;
}

absl::StatusOr<hsm::MechanismParams> FromProto(const pb::MechanismParams& m) {
  hsm::MechanismParams out;
  switch (m.mechanism()) {
    case pb::MECHANISM_RSA_PKCS:
      out.mechanism = hsm::Mechanism::kRsaPkcs;
      break;
    case pb::MECHANISM_RSA_PKCS_PSS:
      out.mechanism = hsm::Mechanism::kRsaPkcsPss;
      break;
    case pb::MECHANISM_RSA_PKCS_OAEP:
      out.mechanism = hsm::Mechanism::kRsaPkcsOaep;
      break;
    case pb::MECHANISM_ECDSA:
      out.mechanism = hsm::Mechanism::kEcdsa;
      break;
    case pb::MECHANISM_EDDSA:
      out.mechanism = hsm::Mechanism::kEddsa;
      break;
    case pb::MECHANISM_AES_GCM:
      out.mechanism = hsm::Mechanism::kAesGcm;
      break;
    case pb::MECHANISM_AES_CBC_PAD:
      out.mechanism = hsm::Mechanism::kAesCbcPad;
      break;
    case pb::MECHANISM_AES_CTR:
      out.mechanism = hsm::Mechanism::kAesCtr;
      break;
    case pb::MECHANISM_AES_KEY_WRAP:
      out.mechanism = hsm::Mechanism::kAesKeyWrap;
      break;
    case pb::MECHANISM_AES_KEY_WRAP_PAD:
      out.mechanism = hsm::Mechanism::kAesKeyWrapPad;
      break;
    case pb::MECHANISM_HMAC:
      out.mechanism = hsm::Mechanism::kHmac;
      break;
    default:
      return absl::InvalidArgumentError("a mechanism is required");
  }
  absl::StatusOr<crypto::HashAlg> hash = FromProto(m.hash());
  if (!hash.ok()) return hash.status();
  out.hash = *hash;
  out.prehashed = m.prehashed();
  out.pss_salt_size = m.pss_salt_size() == 0 ? -1 : m.pss_salt_size();
  out.iv = Bytes(m.iv().begin(), m.iv().end());
  out.aad = Bytes(m.aad().begin(), m.aad().end());
  out.tag_bits = m.tag_bits() == 0 ? 128 : m.tag_bits();
  out.oaep_label = Bytes(m.oaep_label().begin(), m.oaep_label().end());
  return out;
}

void ToProto(const hsm::KeyInfo& info, pb::KeyInfo* out) {
  out->set_handle(info.handle);
  const hsm::KeyAttributes& a = info.attributes;
  pb::KeyAttributes* p = out->mutable_attributes();
  p->set_object_class(ToProto(a.object_class));
  p->set_key_type(ToProto(a.key_type));
  p->set_label(a.label);
  p->set_id(std::string(a.id.begin(), a.id.end()));
  p->set_token(a.token);
  p->set_sensitive(a.sensitive);
  p->set_extractable(a.extractable);
  p->set_encrypt(a.encrypt);
  p->set_decrypt(a.decrypt);
  p->set_sign(a.sign);
  p->set_verify(a.verify);
  p->set_wrap(a.wrap);
  p->set_unwrap(a.unwrap);
  p->set_derive(a.derive);
  p->set_trusted(a.trusted);
  p->set_wrap_with_trusted(a.wrap_with_trusted);
  p->set_local(a.local);
  p->set_always_sensitive(a.always_sensitive);
  p->set_never_extractable(a.never_extractable);
  p->set_bits(a.bits);
  p->set_owner(a.owner);
  for (const std::string& user : a.shared_with) p->add_shared_with(user);
  out->set_public_der(
      std::string(info.public_der.begin(), info.public_der.end()));
  out->set_certificate_der(
      std::string(info.certificate_der.begin(), info.certificate_der.end()));
}

pb::Status ToProto(const absl::Status& status) {
  pb::Status out;
  out.set_code(static_cast<int32_t>(status.code()));
  out.set_message(std::string(status.message()));
  return out;
}

absl::Status FromProto(const pb::Status& status) {
  if (status.code() == 0) return absl::OkStatus();
  const int code = status.code();
  if (code < 1 || code > 16) {
    return absl::UnknownError(
        absl::StrCat("HSM returned code ", code, ": ", status.message()));
  }
  return absl::Status(static_cast<absl::StatusCode>(code), status.message());
}

}  // namespace coffer::node
