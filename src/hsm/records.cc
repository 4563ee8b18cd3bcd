#include "hsm/records.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "base/tlv.h"

namespace coffer::hsm {
namespace {

using crypto::SecretBytes;

// Tags are per record type and never reused. Tag 1 is always the record
// format version so a later format can be told apart.
constexpr uint16_t kVersionTag = 1;
constexpr uint64_t kFormatVersion = 1;

SecretBytes Seal(TlvWriter& w) {
  ZeroizingBuffer buffer = w.Finish();
  return SecretBytes::CopyOf(buffer);
}

TlvWriter Start() {
  TlvWriter w;
  w.U64(kVersionTag, kFormatVersion);
  return w;
}

// Parses `payload` and checks its format version.
absl::StatusOr<TlvReader> Open(const SecretBytes& payload, const char* kind) {
  absl::StatusOr<TlvReader> reader = TlvReader::Parse(payload.ExposeSecret());
  if (!reader.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        kind, " record is malformed: ", reader.status().message()));
  }
  if (reader->U64Or(kVersionTag, 0) != kFormatVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " record has an unknown format version"));
  }
  return reader;
}

// Adds the record kind to a field error.
absl::Status FieldError(const char* kind, const absl::Status& status) {
  return absl::InvalidArgumentError(
      absl::StrCat(kind, " record: ", status.message()));
}

#define COFFER_FIELD(lhs, kind, expr)                           \
  do {                                                          \
    auto field_ = (expr);                                       \
    if (!field_.ok()) return FieldError(kind, field_.status()); \
    lhs = *std::move(field_);                                   \
  } while (false)

SecretBytes SecretField(const TlvReader& r, uint16_t tag) {
  absl::StatusOr<ByteView> bytes = r.GetBytes(tag);
  return bytes.ok() ? SecretBytes::CopyOf(*bytes) : SecretBytes();
}

Bytes BytesField(const TlvReader& r, uint16_t tag) {
  absl::StatusOr<ByteView> bytes = r.GetBytes(tag);
  return bytes.ok() ? Bytes(bytes->begin(), bytes->end()) : Bytes();
}

std::string StringOr(const TlvReader& r, uint16_t tag) {
  absl::StatusOr<std::string> s = r.GetString(tag);
  return s.ok() ? *std::move(s) : std::string();
}

}  // namespace

SecretBytes Encode(const DeviceRecord& r) {
  TlvWriter w = Start();
  w.String(2, r.manufacturer_id)
      .String(3, r.serial)
      .String(4, r.firmware_version)
      .String(5, r.device_cert_pem)
      .String(6, r.manufacturer_ca_pem)
      .Bytes(7, r.mkbk.ExposeSecret())
      .Bytes(8, r.device_key_pkcs8.ExposeSecret());
  return Seal(w);
}

absl::StatusOr<DeviceRecord> DecodeDevice(const SecretBytes& payload) {
  constexpr char kKind[] = "device";
  COFFER_ASSIGN_OR_RETURN(TlvReader r, Open(payload, kKind));
  DeviceRecord d;
  COFFER_FIELD(d.manufacturer_id, kKind, r.GetString(2));
  COFFER_FIELD(d.serial, kKind, r.GetString(3));
  COFFER_FIELD(d.firmware_version, kKind, r.GetString(4));
  COFFER_FIELD(d.device_cert_pem, kKind, r.GetString(5));
  COFFER_FIELD(d.manufacturer_ca_pem, kKind, r.GetString(6));
  d.mkbk = SecretField(r, 7);
  d.device_key_pkcs8 = SecretField(r, 8);
  if (d.mkbk.size() != 32 || d.device_key_pkcs8.empty()) {
    return absl::InvalidArgumentError("device record lacks its keys");
  }
  return d;
}

SecretBytes Encode(const CommissionRecord& r) {
  TlvWriter w = Start();
  w.U64(2, static_cast<uint64_t>(r.mode))
      .Bytes(3, r.akbk.ExposeSecret())
      .String(4, r.akbk_kcv_hex)
      .String(5, r.service_ca_pem);
  return Seal(w);
}

absl::StatusOr<CommissionRecord> DecodeCommission(const SecretBytes& payload) {
  constexpr char kKind[] = "commission";
  COFFER_ASSIGN_OR_RETURN(TlvReader r, Open(payload, kKind));
  CommissionRecord c;
  uint64_t mode = 0;
  COFFER_FIELD(mode, kKind, r.GetU64(2));
  if (mode > static_cast<uint64_t>(Mode::kFips)) {
    return absl::InvalidArgumentError("commission record: unknown mode");
  }
  c.mode = static_cast<Mode>(mode);
  c.akbk = SecretField(r, 3);
  COFFER_FIELD(c.akbk_kcv_hex, kKind, r.GetString(4));
  c.service_ca_pem = StringOr(r, 5);
  return c;
}

SecretBytes Encode(const TlsIdentityRecord& r) {
  TlvWriter w = Start();
  w.String(2, r.cert_chain_pem).Bytes(3, r.key_pkcs8.ExposeSecret());
  return Seal(w);
}

absl::StatusOr<TlsIdentityRecord> DecodeTlsIdentity(
    const SecretBytes& payload) {
  constexpr char kKind[] = "tls";
  COFFER_ASSIGN_OR_RETURN(TlvReader r, Open(payload, kKind));
  TlsIdentityRecord t;
  COFFER_FIELD(t.cert_chain_pem, kKind, r.GetString(2));
  t.key_pkcs8 = SecretField(r, 3);
  return t;
}

SecretBytes Encode(const ClusterRecord& r) {
  TlvWriter w = Start();
  w.String(2, r.cluster_id)
      .Bytes(3, r.cluster_key_pkcs8.ExposeSecret())
      .String(4, r.cluster_csr_pem)
      .String(5, r.cluster_cert_pem)
      .String(6, r.customer_anchor_pem)
      .String(7, r.client_anchors_pem)
      .Bytes(8, r.sync_key.ExposeSecret())
      .U64(9, r.log_position);
  return Seal(w);
}

absl::StatusOr<ClusterRecord> DecodeCluster(const SecretBytes& payload) {
  constexpr char kKind[] = "cluster";
  COFFER_ASSIGN_OR_RETURN(TlvReader r, Open(payload, kKind));
  ClusterRecord c;
  COFFER_FIELD(c.cluster_id, kKind, r.GetString(2));
  c.cluster_key_pkcs8 = SecretField(r, 3);
  c.cluster_csr_pem = StringOr(r, 4);
  c.cluster_cert_pem = StringOr(r, 5);
  c.customer_anchor_pem = StringOr(r, 6);
  c.client_anchors_pem = StringOr(r, 7);
  c.sync_key = SecretField(r, 8);
  c.log_position = r.U64Or(9, 0);
  return c;
}

SecretBytes Encode(const UserRecord& r) {
  TlvWriter w = Start();
  w.String(2, r.name)
      .U64(3, static_cast<uint64_t>(r.role))
      .String(4, r.password_hash)
      .U64(5, r.failed_logins)
      .Bool(6, r.locked)
      .Bytes(7, r.quorum_key_der);
  return Seal(w);
}

absl::StatusOr<UserRecord> DecodeUser(const SecretBytes& payload) {
  constexpr char kKind[] = "user";
  COFFER_ASSIGN_OR_RETURN(TlvReader r, Open(payload, kKind));
  UserRecord u;
  uint64_t role = 0;
  COFFER_FIELD(u.name, kKind, r.GetString(2));
  COFFER_FIELD(role, kKind, r.GetU64(3));
  if (role > static_cast<uint64_t>(Role::kApplianceUser)) {
    return absl::InvalidArgumentError("user record: unknown role");
  }
  u.role = static_cast<Role>(role);
  u.password_hash = StringOr(r, 4);
  u.failed_logins = static_cast<uint32_t>(r.U64Or(5, 0));
  u.locked = r.BoolOr(6, false);
  u.quorum_key_der = BytesField(r, 7);
  return u;
}

SecretBytes Encode(const PolicyRecord& r) {
  TlvWriter w = Start();
  w.U64(2, r.max_failed_logins)
      .U64(3, r.quorum_user_management)
      .U64(4, r.quorum_changes)
      .U64(5, r.quorum_key_use);
  return Seal(w);
}

absl::StatusOr<PolicyRecord> DecodePolicy(const SecretBytes& payload) {
  COFFER_ASSIGN_OR_RETURN(TlvReader r, Open(payload, "policy"));
  PolicyRecord p;
  p.max_failed_logins = static_cast<uint32_t>(r.U64Or(2, 5));
  p.quorum_user_management = static_cast<uint32_t>(r.U64Or(3, 1));
  p.quorum_changes = static_cast<uint32_t>(r.U64Or(4, 1));
  p.quorum_key_use = static_cast<uint32_t>(r.U64Or(5, 1));
  return p;
}

namespace {

// Key attribute flags, packed as one bit each (tag 20) in this order.
constexpr bool KeyAttributes::*kFlags[] = {
    &KeyAttributes::token,
    &KeyAttributes::sensitive,
    &KeyAttributes::extractable,
    &KeyAttributes::encrypt,
    &KeyAttributes::decrypt,
    &KeyAttributes::sign,
    &KeyAttributes::verify,
    &KeyAttributes::wrap,
    &KeyAttributes::unwrap,
    &KeyAttributes::derive,
    &KeyAttributes::trusted,
    &KeyAttributes::wrap_with_trusted,
    &KeyAttributes::local,
    &KeyAttributes::always_sensitive,
    &KeyAttributes::never_extractable,
};

}  // namespace

SecretBytes Encode(const KeyObject& k) {
  const KeyAttributes& a = k.attributes;
  uint64_t flags = 0;
  for (size_t i = 0; i < std::size(kFlags); ++i) {
    if (a.*kFlags[i]) flags |= uint64_t{1} << i;
  }
  TlvWriter w = Start();
  w.U64(2, k.handle)
      .U64(3, static_cast<uint64_t>(a.object_class))
      .U64(4, static_cast<uint64_t>(a.key_type))
      .String(5, a.label)
      .Bytes(6, a.id)
      .U64(7, a.bits)
      .String(8, a.owner)
      .U64(9, k.pair_handle)
      .Bytes(10, k.secret.ExposeSecret())
      .Bytes(11, k.public_der)
      .U64(20, flags);
  // Certificates only, so key records keep their earlier encoding.
  if (!k.certificate_der.empty()) w.Bytes(12, k.certificate_der);
  // Shared users: one field each, tags 100.. in sorted order.
  uint16_t tag = 100;
  for (const std::string& user : a.shared_with) w.String(tag++, user);
  return Seal(w);
}

absl::StatusOr<KeyObject> DecodeKey(const SecretBytes& payload) {
  constexpr char kKind[] = "key";
  COFFER_ASSIGN_OR_RETURN(TlvReader r, Open(payload, kKind));
  KeyObject k;
  KeyAttributes& a = k.attributes;
  uint64_t object_class = 0, key_type = 0, bits = 0, flags = 0;
  COFFER_FIELD(k.handle, kKind, r.GetU64(2));
  COFFER_FIELD(object_class, kKind, r.GetU64(3));
  COFFER_FIELD(key_type, kKind, r.GetU64(4));
  COFFER_FIELD(a.label, kKind, r.GetString(5));
  COFFER_FIELD(bits, kKind, r.GetU64(7));
  COFFER_FIELD(a.owner, kKind, r.GetString(8));
  COFFER_FIELD(flags, kKind, r.GetU64(20));
  if (object_class > static_cast<uint64_t>(ObjectClass::kCertificate) ||
      key_type > static_cast<uint64_t>(KeyType::kEd25519)) {
    return absl::InvalidArgumentError("key record: unknown class or type");
  }
  a.object_class = static_cast<ObjectClass>(object_class);
  a.key_type = static_cast<KeyType>(key_type);
  a.bits = static_cast<uint32_t>(bits);
  a.id = BytesField(r, 6);
  k.pair_handle = r.U64Or(9, 0);
  k.secret = SecretField(r, 10);
  k.public_der = BytesField(r, 11);
  k.certificate_der = BytesField(r, 12);
  if ((a.object_class == ObjectClass::kCertificate) ==
      k.certificate_der.empty()) {
    return absl::InvalidArgumentError(
        "key record: a certificate object needs its DER and only a "
        "certificate object has one");
  }
  for (size_t i = 0; i < std::size(kFlags); ++i) {
    a.*kFlags[i] = (flags >> i) & 1;
  }
  for (uint16_t tag = 100; r.Has(tag); ++tag) {
    a.shared_with.insert(StringOr(r, tag));
  }
  return k;
}

}  // namespace coffer::hsm
