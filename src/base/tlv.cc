#include "base/tlv.h"

#include "absl/strings/str_cat.h"

namespace coffer {
namespace {

void PutBigEndian(ZeroizingBuffer& out, uint64_t value, int width) {
  for (int shift = 8 * (width - 1); shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(value >> shift));
  }
}

uint64_t GetBigEndian(ByteView in) {
  uint64_t value = 0;
  for (uint8_t b : in) value = (value << 8) | b;
  return value;
}

}  // namespace

TlvWriter& TlvWriter::Bytes(uint16_t tag, ByteView value) {
  PutBigEndian(out_, tag, 2);
  PutBigEndian(out_, value.size(), 4);
  out_.insert(out_.end(), value.begin(), value.end());
  return *this;
}

TlvWriter& TlvWriter::String(uint16_t tag, std::string_view value) {
  return Bytes(tag, AsBytes(value));
}

TlvWriter& TlvWriter::U64(uint16_t tag, uint64_t value) {
  uint8_t buf[8];
  for (int i = 0; i < 8; ++i)
    buf[i] = static_cast<uint8_t>(value >> (56 - 8 * i));
  return Bytes(tag, ByteView(buf, 8));
}

TlvWriter& TlvWriter::Bool(uint16_t tag, bool value) {
  const uint8_t b = value ? 1 : 0;
  return Bytes(tag, ByteView(&b, 1));
}

ZeroizingBuffer TlvWriter::Finish() { return std::move(out_); }

absl::StatusOr<TlvReader> TlvReader::Parse(ByteView encoded) {
  TlvReader reader;
  size_t pos = 0;
  while (pos < encoded.size()) {
    if (encoded.size() - pos < 6) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLV field header truncated at offset ", pos));
    }
    const auto tag =
        static_cast<uint16_t>(GetBigEndian(encoded.subspan(pos, 2)));
    const uint64_t length = GetBigEndian(encoded.subspan(pos + 2, 4));
    pos += 6;
    if (length > encoded.size() - pos) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLV field ", tag, " claims ", length,
                       " bytes but only ", encoded.size() - pos, " remain"));
    }
    if (!reader.fields_.emplace(tag, encoded.subspan(pos, length)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLV field ", tag, " appears twice"));
    }
    pos += length;
  }
  return reader;
}

absl::StatusOr<ByteView> TlvReader::GetBytes(uint16_t tag) const {
  auto it = fields_.find(tag);
  if (it == fields_.end()) {
    return absl::NotFoundError(absl::StrCat("TLV field ", tag, " is missing"));
  }
  return it->second;
}

absl::StatusOr<std::string> TlvReader::GetString(uint16_t tag) const {
  absl::StatusOr<ByteView> bytes = GetBytes(tag);
  if (!bytes.ok()) return bytes.status();
  return std::string(bytes->begin(), bytes->end());
}

absl::StatusOr<uint64_t> TlvReader::GetU64(uint16_t tag) const {
  absl::StatusOr<ByteView> bytes = GetBytes(tag);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLV field ", tag, " is not a 64-bit integer"));
  }
  return GetBigEndian(*bytes);
}

absl::StatusOr<bool> TlvReader::GetBool(uint16_t tag) const {
  absl::StatusOr<ByteView> bytes = GetBytes(tag);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != 1 || (*bytes)[0] > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLV field ", tag, " is not a boolean"));
  }
  return (*bytes)[0] == 1;
}

uint64_t TlvReader::U64Or(uint16_t tag, uint64_t fallback) const {
  absl::StatusOr<uint64_t> value = GetU64(tag);
  return value.ok() ? *value : fallback;
}

bool TlvReader::BoolOr(uint16_t tag, bool fallback) const {
  absl::StatusOr<bool> value = GetBool(tag);
  return value.ok() ? *value : fallback;
}

}  // namespace coffer
