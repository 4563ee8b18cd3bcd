#include "hsm/internal/log_entry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "base/tlv.h"
#include "crypto/aead.h"

namespace coffer::hsm::internal {
namespace {

constexpr uint64_t kEntryVersion = 1;
constexpr std::string_view kAadLabel = "coffer cluster log v1";
// Outer TLV: version, count, then one nested TLV per write at kFirstWrite+i.
constexpr uint16_t kVersionTag = 1, kCountTag = 2, kFirstWriteTag = 16;
constexpr size_t kMaxWrites = 4096;
// Nested TLV of one write; a missing payload means delete.
constexpr uint16_t kKindTag = 1, kIdTag = 2, kPayloadTag = 3;

Bytes Aad(std::string_view cluster_id, uint64_t position) {
  Bytes aad = LabelPrefix(kAadLabel);
  aad.insert(aad.end(), cluster_id.begin(), cluster_id.end());
  aad.push_back(0);
  for (int i = 7; i >= 0; --i) {
    aad.push_back(static_cast<uint8_t>(position >> (8 * i)));
  }
  return aad;
}

absl::StatusOr<crypto::AesGcm> EntryCipher(const crypto::SecretBytes& key) {
  return crypto::AesGcm::Create(key.Clone());
}

}  // namespace

absl::StatusOr<Bytes> SealLogEntry(
    const crypto::SecretBytes& sync_key, std::string_view cluster_id,
    uint64_t position, const std::vector<store::RecordWrite>& writes) {
  if (writes.empty() || writes.size() > kMaxWrites) {
    return absl::InvalidArgumentError(
        absl::StrCat("a log entry holds 1 to ", kMaxWrites, " writes"));
  }
  TlvWriter outer;
  outer.U64(kVersionTag, kEntryVersion).U64(kCountTag, writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    TlvWriter one;
    one.String(kKindTag, writes[i].kind).String(kIdTag, writes[i].id);
    if (writes[i].payload) {
      one.Bytes(kPayloadTag, writes[i].payload->ExposeSecret());
    }
    ZeroizingBuffer nested = one.Finish();
    outer.Bytes(static_cast<uint16_t>(kFirstWriteTag + i),
                ByteView(nested.data(), nested.size()));
  }
  ZeroizingBuffer plain = outer.Finish();
  COFFER_ASSIGN_OR_RETURN(crypto::AesGcm gcm, EntryCipher(sync_key));
  return gcm.Seal(ByteView(plain.data(), plain.size()),
                  Aad(cluster_id, position));
}

absl::StatusOr<std::vector<store::RecordWrite>> OpenLogEntry(
    const crypto::SecretBytes& sync_key, std::string_view cluster_id,
    uint64_t position, ByteView sealed) {
  COFFER_ASSIGN_OR_RETURN(crypto::AesGcm gcm, EntryCipher(sync_key));
  absl::StatusOr<crypto::SecretBytes> plain =
      gcm.Open(sealed, Aad(cluster_id, position));
  if (!plain.ok()) {
    return absl::DataLossError(absl::StrCat(
        "cluster log entry ", position,
        " does not authenticate under this cluster's sync key (forged, "
        "moved, or from another cluster)"));
  }
  auto malformed = [position](const absl::Status& s) {
    return absl::DataLossError(absl::StrCat("cluster log entry ", position,
                                            " is malformed: ", s.message()));
  };
  absl::StatusOr<TlvReader> outer = TlvReader::Parse(plain->ExposeSecret());
  if (!outer.ok()) return malformed(outer.status());
  if (outer->U64Or(kVersionTag, 0) != kEntryVersion) {
    return malformed(absl::InvalidArgumentError("unknown entry version"));
  }
  const uint64_t count = outer->U64Or(kCountTag, 0);
  if (count == 0 || count > kMaxWrites) {
    return malformed(absl::InvalidArgumentError("bad write count"));
  }
  std::vector<store::RecordWrite> writes;
  writes.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    absl::StatusOr<ByteView> nested =
        outer->GetBytes(static_cast<uint16_t>(kFirstWriteTag + i));
    if (!nested.ok()) return malformed(nested.status());
    absl::StatusOr<TlvReader> one = TlvReader::Parse(*nested);
    if (!one.ok()) return malformed(one.status());
    store::RecordWrite w;
    absl::StatusOr<std::string> kind = one->GetString(kKindTag);
    absl::StatusOr<std::string> id = one->GetString(kIdTag);
    if (!kind.ok() || !id.ok()) {
      return malformed(absl::InvalidArgumentError("write without kind/id"));
    }
    w.kind = std::move(*kind);
    w.id = std::move(*id);
    if (one->Has(kPayloadTag)) {
      COFFER_ASSIGN_OR_RETURN(ByteView payload, one->GetBytes(kPayloadTag));
      w.payload = crypto::SecretBytes::CopyOf(payload);
    }
    writes.push_back(std::move(w));
  }
  return writes;
}

}  // namespace coffer::hsm::internal
