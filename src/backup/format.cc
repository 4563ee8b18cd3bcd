#include "backup/format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "base/tlv.h"
#include "hsm/records.h"

namespace coffer::backup {
namespace {

using crypto::SecretBytes;

// Header TLV tags (docs/backup-format.md, "Header"). Never reused.
enum HeaderTag : uint16_t {
  kTagBackupId = 1,
  kTagClusterId = 2,
  kTagSerial = 3,
  kTagManufacturer = 4,
  kTagFirmware = 5,
  kTagMode = 6,
  kTagCreatedAt = 7,
  kTagLogPosition = 8,
  kTagClusterCount = 9,
  kTagPolicyCount = 10,
  kTagUserCount = 11,
  kTagObjectCount = 12,
  kTagServiceKcv = 13,
  kTagWrappedEbk = 14,
  kTagDeviceCert = 15,
};

constexpr const char* kKindByCode[] = {nullptr, hsm::kClusterKind,
                                       hsm::kPolicyKind, hsm::kUserKind,
                                       hsm::kKeyKind};

void PutU16(uint16_t v, uint8_t* out) {
  out[0] = static_cast<uint8_t>(v >> 8);
  out[1] = static_cast<uint8_t>(v);
}

absl::Status HeaderError(uint16_t tag, const absl::Status& status) {
  return absl::InvalidArgumentError(
      absl::StrCat("backup header field ", tag,
                   " is missing or malformed: ", status.message()));
}

#define COFFER_HEADER_FIELD(lhs, tag, getter)                   \
  do {                                                          \
    auto field_ = r.getter(tag);                                \
    if (!field_.ok()) return HeaderError(tag, field_.status()); \
    lhs = *std::move(field_);                                   \
  } while (false)

}  // namespace

std::string_view ModeName(hsm::Mode mode) {
  return mode == hsm::Mode::kFips ? "FIPS" : "non-FIPS";
}

Bytes EncodePreamble() {
  Bytes out(kMagic, kMagic + kMagicSize);
  out.push_back(static_cast<uint8_t>(kFormatVersion >> 8));
  out.push_back(static_cast<uint8_t>(kFormatVersion & 0xff));
  return out;
}

absl::Status CheckPreamble(ByteView preamble) {
  if (preamble.size() < kPreambleSize ||
      !std::equal(kMagic, kMagic + kMagicSize, preamble.begin())) {
    return absl::InvalidArgumentError(
        "not a Coffer backup (the file does not start with COFFERBK)");
  }
  const uint16_t version = static_cast<uint16_t>(preamble[kMagicSize] << 8 |
                                                 preamble[kMagicSize + 1]);
  if (version != kFormatVersion) {
    return absl::UnimplementedError(
        absl::StrCat("unknown backup format version ", version,
                     ": this build reads version ", kFormatVersion));
  }
  return absl::OkStatus();
}

Bytes EncodeHeaderBody(const BackupHeader& h) {
  const hsm::BackupOrigin& o = h.origin;
  TlvWriter w;
  w.Bytes(kTagBackupId, h.backup_id)
      .String(kTagClusterId, o.cluster_id)
      .String(kTagSerial, o.serial)
      .String(kTagManufacturer, o.manufacturer_id)
      .String(kTagFirmware, o.firmware_version)
      .U64(kTagMode, o.mode == hsm::Mode::kFips ? 1 : 0)
      .U64(kTagCreatedAt, static_cast<uint64_t>(h.created_at))
      .U64(kTagLogPosition, o.log_position)
      .U64(kTagClusterCount, h.counts.cluster)
      .U64(kTagPolicyCount, h.counts.policy)
      .U64(kTagUserCount, h.counts.users)
      .U64(kTagObjectCount, h.counts.objects)
      .String(kTagServiceKcv, o.service_kcv)
      .Bytes(kTagWrappedEbk, h.wrapped_ebk)
      .Bytes(kTagDeviceCert, o.device_cert_der);
  ByteView view = w.view();
  return Bytes(view.begin(), view.end());
}

absl::StatusOr<BackupHeader> DecodeHeaderBody(ByteView body) {
  absl::StatusOr<TlvReader> parsed = TlvReader::Parse(body);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "backup header is malformed: ", parsed.status().message()));
  }
  const TlvReader& r = *parsed;
  BackupHeader h;
  hsm::BackupOrigin& o = h.origin;
  ByteView id, ebk, cert;
  uint64_t mode = 0, created = 0;
  COFFER_HEADER_FIELD(id, kTagBackupId, GetBytes);
  COFFER_HEADER_FIELD(o.cluster_id, kTagClusterId, GetString);
  COFFER_HEADER_FIELD(o.serial, kTagSerial, GetString);
  COFFER_HEADER_FIELD(o.manufacturer_id, kTagManufacturer, GetString);
  COFFER_HEADER_FIELD(o.firmware_version, kTagFirmware, GetString);
  COFFER_HEADER_FIELD(mode, kTagMode, GetU64);
  COFFER_HEADER_FIELD(created, kTagCreatedAt, GetU64);
  COFFER_HEADER_FIELD(o.log_position, kTagLogPosition, GetU64);
  COFFER_HEADER_FIELD(h.counts.cluster, kTagClusterCount, GetU64);
  COFFER_HEADER_FIELD(h.counts.policy, kTagPolicyCount, GetU64);
  COFFER_HEADER_FIELD(h.counts.users, kTagUserCount, GetU64);
  COFFER_HEADER_FIELD(h.counts.objects, kTagObjectCount, GetU64);
  COFFER_HEADER_FIELD(o.service_kcv, kTagServiceKcv, GetString);
  COFFER_HEADER_FIELD(ebk, kTagWrappedEbk, GetBytes);
  COFFER_HEADER_FIELD(cert, kTagDeviceCert, GetBytes);
  if (id.size() != kBackupIdSize || mode > 1 || created > INT64_MAX) {
    return absl::InvalidArgumentError(
        "backup header has a bad backup id, mode or creation time");
  }
  if (h.counts.cluster != 1 || h.counts.policy != 1 ||
      h.counts.total() < h.counts.users) {  // the last catches overflow
    return absl::InvalidArgumentError(
        "backup header counts are impossible: a backup holds exactly one "
        "cluster and one policy record");
  }
  h.backup_id.assign(id.begin(), id.end());
  h.wrapped_ebk.assign(ebk.begin(), ebk.end());
  o.device_cert_der.assign(cert.begin(), cert.end());
  o.mode = mode == 1 ? hsm::Mode::kFips : hsm::Mode::kNonFips;
  h.created_at = static_cast<int64_t>(created);
  return h;
}

void AppendFrameHeader(FrameType type, size_t body_size, Bytes& out) {
  out.push_back(static_cast<uint8_t>(type));
  for (int i = 3; i >= 0; --i) {
    out.push_back(static_cast<uint8_t>(body_size >> (8 * i)));
  }
}

absl::StatusOr<SecretBytes> EncodeRecordPlaintext(std::string_view kind,
                                                  std::string_view id,
                                                  const SecretBytes& payload) {
  uint8_t code = 0;
  for (uint8_t c = 1; c < std::size(kKindByCode); ++c) {
    if (kind == kKindByCode[c]) code = c;
  }
  if (code == 0 || id.empty() || id.size() > UINT16_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("record ", std::string(kind), " cannot go in a backup"));
  }
  ByteView p = payload.ExposeSecret();
  SecretBytes out(3 + id.size() + p.size());
  auto o = out.ExposeSecretMutable();
  o[0] = code;
  PutU16(static_cast<uint16_t>(id.size()), o.data() + 1);
  std::copy(id.begin(), id.end(), o.begin() + 3);
  std::copy(p.begin(), p.end(), o.begin() + 3 + id.size());
  return out;
}

absl::StatusOr<RecordView> DecodeRecordPlaintext(ByteView plaintext) {
  if (plaintext.size() < 3 || plaintext[0] == 0 ||
      plaintext[0] >= std::size(kKindByCode)) {
    return absl::InvalidArgumentError("backup record has an unknown kind");
  }
  const size_t id_size = size_t{plaintext[1]} << 8 | plaintext[2];
  if (id_size == 0 || plaintext.size() < 3 + id_size) {
    return absl::InvalidArgumentError("backup record is shorter than its id");
  }
  RecordView view;
  view.kind = kKindByCode[plaintext[0]];
  view.id = std::string_view(
      reinterpret_cast<const char*>(plaintext.data()) + 3, id_size);
  view.payload = plaintext.subspan(3 + id_size);
  return view;
}

Bytes EncodeSealPlaintext(uint64_t records, ByteView digest) {
  Bytes out;
  out.reserve(8 + digest.size());
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<uint8_t>(records >> (8 * i)));
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

}  // namespace coffer::backup
