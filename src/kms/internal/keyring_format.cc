#include "kms/internal/keyring_format.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "crypto/hash.h"

namespace coffer::kms::internal {
namespace {

constexpr char kKeyFileMagic[4] = {'C', 'F', 'K', 'R'};
constexpr uint8_t kKeyFileVersion = 1;
constexpr uint8_t kWrapVersion = 1;
constexpr size_t kChecksumSize = 32;
constexpr char kWrapLabel[] = "coffer.kms.wrap.v1";

absl::Status Corrupt(const std::string& region, const char* what) {
  return absl::DataLossError(absl::StrCat("keyring file of region ", region,
                                          " is corrupt: ", what,
                                          "; restore it from a backup"));
}

// Sequential reader over a byte view; every Take* fails past the end.
class Cursor {
 public:
  explicit Cursor(ByteView data) : data_(data) {}
  bool Take(size_t n, ByteView* out) {
    if (data_.size() - pos_ < n) return false;
    *out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool TakeU8(size_t* out) {
    ByteView b;
    if (!Take(1, &b)) return false;
    *out = b[0];
    return true;
  }
  bool TakeU16(size_t* out) {
    ByteView b;
    if (!Take(2, &b)) return false;
    *out = (size_t{b[0]} << 8) | b[1];
    return true;
  }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<crypto::SecretBytes> EncodeKeyFile(
    const std::string& region, const std::vector<KeyEntry>& keys) {
  size_t size = sizeof(kKeyFileMagic) + 1 + 1 + region.size() + 2;
  for (const KeyEntry& key : keys) size += 1 + key.id.size() + kKekSize;
  size += kChecksumSize;
  crypto::SecretBytes out(size);
  uint8_t* p = out.ExposeSecretMutable().data();
  auto put = [&p](const void* src, size_t n) {
    if (n > 0) std::memcpy(p, src, n);
    p += n;
  };
  auto put_u8 = [&p](size_t v) { *p++ = static_cast<uint8_t>(v); };
  put(kKeyFileMagic, sizeof(kKeyFileMagic));
  put_u8(kKeyFileVersion);
  put_u8(region.size());
  put(region.data(), region.size());
  put_u8(keys.size() >> 8);
  put_u8(keys.size() & 0xff);
  for (const KeyEntry& key : keys) {
    put_u8(key.id.size());
    put(key.id.data(), key.id.size());
    put(key.kek.ExposeSecret().data(), kKekSize);
  }
  const ByteView body = out.ExposeSecret().first(size - kChecksumSize);
  absl::StatusOr<Bytes> digest = crypto::Digest(crypto::HashAlg::kSha256, body);
  if (!digest.ok()) return digest.status();
  put(digest->data(), kChecksumSize);
  return out;
}

absl::StatusOr<std::vector<KeyEntry>> DecodeKeyFile(const std::string& region,
                                                    ByteView file) {
  if (file.size() < kChecksumSize) return Corrupt(region, "too short");
  const ByteView body = file.first(file.size() - kChecksumSize);
  absl::StatusOr<Bytes> digest = crypto::Digest(crypto::HashAlg::kSha256, body);
  if (!digest.ok()) return digest.status();
  if (!crypto::ConstantTimeEquals(*digest, file.last(kChecksumSize))) {
    return Corrupt(region, "checksum mismatch");
  }
  Cursor in(body);
  ByteView magic, name;
  size_t version = 0, name_len = 0, count = 0;
  if (!in.Take(4, &magic) ||
      !std::equal(magic.begin(), magic.end(), kKeyFileMagic) ||
      !in.TakeU8(&version) || version != kKeyFileVersion) {
    return Corrupt(region, "not a version-1 keyring file");
  }
  if (!in.TakeU8(&name_len) || !in.Take(name_len, &name) ||
      std::string(name.begin(), name.end()) != region) {
    return Corrupt(region, "the file names another region");
  }
  if (!in.TakeU16(&count) || count == 0) return Corrupt(region, "no keys");
  std::vector<KeyEntry> keys;
  for (size_t i = 0; i < count; ++i) {
    size_t id_len = 0;
    ByteView id, kek;
    if (!in.TakeU8(&id_len) || !in.Take(id_len, &id) ||
        !in.Take(kKekSize, &kek)) {
      return Corrupt(region, "truncated key entry");
    }
    keys.push_back(
        {std::string(id.begin(), id.end()), crypto::SecretBytes::CopyOf(kek)});
  }
  if (in.remaining() != 0) return Corrupt(region, "trailing bytes");
  return keys;
}

absl::StatusOr<WrappedKey> ParseWrapped(ByteView wrapped) {
  Cursor in(wrapped);
  size_t version = 0, id_len = 0;
  ByteView id;
  WrappedKey out;
  if (!in.TakeU8(&version) || version != kWrapVersion || !in.TakeU8(&id_len) ||
      !in.Take(id_len, &id) || !in.Take(kWrapIvSize, &out.iv) ||
      in.remaining() <= kWrapTagSize) {
    return absl::DataLossError(
        "wrapped data key is malformed (not a version-1 local keyring blob)");
  }
  out.key_id.assign(id.begin(), id.end());
  in.Take(in.remaining(), &out.sealed);
  return out;
}

Bytes EncodeWrappedPrefix(const std::string& key_id) {
  Bytes out(2 + key_id.size());
  out[0] = kWrapVersion;
  out[1] = static_cast<uint8_t>(key_id.size());
  std::copy(key_id.begin(), key_id.end(), out.begin() + 2);
  return out;
}

Bytes WrapAad(const std::string& region, const std::string& key_id,
              ByteView aad) {
  Bytes out = LabelPrefix(kWrapLabel);
  out.push_back(static_cast<uint8_t>(region.size()));
  out.insert(out.end(), region.begin(), region.end());
  out.push_back(static_cast<uint8_t>(key_id.size()));
  out.insert(out.end(), key_id.begin(), key_id.end());
  out.insert(out.end(), aad.begin(), aad.end());
  return out;
}

}  // namespace coffer::kms::internal
