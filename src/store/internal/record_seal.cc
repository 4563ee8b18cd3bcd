#include "store/internal/record_seal.h"

#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/kdf.h"
#include "store/sealed_store.h"

namespace coffer::store::internal {
namespace {

// Appends big-endian integers and bytes into a buffer sized up front
// (vector::insert trips a GCC 12 false -Wstringop-overflow).
class Writer {
 public:
  explicit Writer(size_t size) : out_(size) {}
  void U32(uint32_t v) { Int(v, 4); }
  void U64(uint64_t v) { Int(v, 8); }
  void Raw(const void* data, size_t size) {
    if (size > 0) std::memcpy(out_.data() + pos_, data, size);
    pos_ += size;
  }
  void String(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Raw(s.data(), s.size());
  }
  Bytes Finish() && { return std::move(out_); }

 private:
  void Int(uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
      out_[pos_++] = static_cast<uint8_t>(v >> (8 * i));
    }
  }
  Bytes out_;
  size_t pos_ = 0;
};

uint64_t GetU64(ByteView in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

absl::StatusOr<crypto::SecretBytes> Subkey(const crypto::SecretBytes& key,
                                           std::string_view context) {
  return crypto::KbkdfCounter(key, AsBytes(kKdfLabel), AsBytes(context),
                              kStorageKeySize);
}

}  // namespace

Bytes RecordAad(const RecordRef& ref) {
  Writer w(kRecordContext.size() + 4 + ref.kind.size() + 4 + ref.id.size() + 8 +
           8);
  w.Raw(kRecordContext.data(), kRecordContext.size());
  w.String(ref.kind);
  w.String(ref.id);
  w.U64(ref.version);
  w.U64(ref.generation);
  return std::move(w).Finish();
}

std::string DescribeRecord(std::string_view kind, std::string_view id) {
  return absl::StrCat(
      "kind '", absl::CHexEscape(absl::string_view(kind.data(), kind.size())),
      "', id '", absl::CHexEscape(absl::string_view(id.data(), id.size())),
      "'");
}

void XorInto(SetDigest& acc, const SetDigest& element) {
  for (size_t i = 0; i < acc.size(); ++i) acc[i] ^= element[i];
}

absl::StatusOr<RecordSealer> RecordSealer::Create(
    const crypto::SecretBytes& storage_key) {
  if (storage_key.size() != kStorageKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("the storage key must be ", kStorageKeySize,
                     " bytes; got ", storage_key.size()));
  }
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes record_key,
                          Subkey(storage_key, kRecordKeyContext));
  COFFER_ASSIGN_OR_RETURN(crypto::SecretBytes set_key,
                          Subkey(storage_key, kSetKeyContext));
  COFFER_ASSIGN_OR_RETURN(crypto::AesGcm gcm,
                          crypto::AesGcm::Create(std::move(record_key)));
  COFFER_ASSIGN_OR_RETURN(
      crypto::Hmac mac,
      crypto::Hmac::Create(crypto::HashAlg::kSha256, std::move(set_key)));
  return RecordSealer(std::move(gcm), std::move(mac));
}

absl::StatusOr<Bytes> RecordSealer::SealRecord(const RecordRef& ref,
                                               ByteView payload) const {
  return gcm_.Seal(payload, RecordAad(ref));
}

absl::StatusOr<crypto::SecretBytes> RecordSealer::OpenRecord(
    const RecordRef& ref, ByteView sealed) const {
  absl::StatusOr<crypto::SecretBytes> plain = gcm_.Open(sealed, RecordAad(ref));
  if (plain.ok() ||
      (plain.status().code() != absl::StatusCode::kDataLoss &&
       plain.status().code() != absl::StatusCode::kInvalidArgument)) {
    return plain;
  }
  return absl::DataLossError(absl::StrCat(
      "stored record (", DescribeRecord(ref.kind, ref.id), ", version ",
      ref.version,
      ") failed authentication: its sealed blob was modified, "
      "belongs to another row or version, or the storage key is wrong"));
}

absl::StatusOr<SetDigest> RecordSealer::SetElement(const RecordRef& ref) const {
  COFFER_ASSIGN_OR_RETURN(Bytes tag, mac_.Compute(RecordAad(ref)));
  SetDigest out{};
  if (tag.size() != out.size()) return absl::InternalError("HMAC size");
  std::memcpy(out.data(), tag.data(), out.size());
  return out;
}

absl::StatusOr<Bytes> RecordSealer::SealManifest(
    const Manifest& manifest) const {
  Writer w(kManifestSize);
  w.U64(manifest.generation);
  w.U64(manifest.record_count);
  w.Raw(manifest.set_digest.data(), manifest.set_digest.size());
  const Bytes plain = std::move(w).Finish();
  return gcm_.Seal(plain, AsBytes(kManifestContext));
}

absl::StatusOr<Manifest> RecordSealer::OpenManifest(ByteView sealed) const {
  absl::StatusOr<crypto::SecretBytes> plain =
      gcm_.Open(sealed, AsBytes(kManifestContext));
  if (!plain.ok() || plain->size() != kManifestSize) {
    if (!plain.ok() && plain.status().code() == absl::StatusCode::kInternal) {
      return plain.status();
    }
    return absl::DataLossError(
        "the store's manifest failed authentication: the storage key is "
        "wrong, or the file was modified or is not this device's store");
  }
  ByteView p = plain->ExposeSecret();
  Manifest m;
  m.generation = GetU64(p.subspan(0, 8));
  m.record_count = GetU64(p.subspan(8, 8));
  std::memcpy(m.set_digest.data(), p.data() + 16, m.set_digest.size());
  return m;
}

}  // namespace coffer::store::internal
