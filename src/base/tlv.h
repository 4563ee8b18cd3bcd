// A small, strict tag-length-value codec for Coffer's own records (state
// store payloads, cluster-log changes, backup records). Deterministic:
// writers emit fields in the order they are called; readers accept only
// well-formed input and never read past the end.
//
// Wire form of one field: tag (u16, big-endian) || length (u32, big-endian)
// || value (length bytes). Integers are fixed-width big-endian values.
// Readers skip unknown tags (forward compatibility) but refuse a repeated
// known tag, a length past the end, and a wrong-width integer.
#ifndef COFFER_BASE_TLV_H_
#define COFFER_BASE_TLV_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "base/zeroizing_allocator.h"

namespace coffer {

class TlvWriter {
 public:
  TlvWriter& Bytes(uint16_t tag, ByteView value);
  TlvWriter& String(uint16_t tag, std::string_view value);
  TlvWriter& U64(uint16_t tag, uint64_t value);
  TlvWriter& Bool(uint16_t tag, bool value);
  // Takes the encoding, leaving the writer empty. The buffer wipes itself
  // when freed, so records holding secrets leave no copies behind.
  ZeroizingBuffer Finish();
  ByteView view() const { return out_; }

 private:
  ZeroizingBuffer out_;
};

// Parses a whole encoding up front; field accessors then look up by tag.
// Views returned point into the input, which must outlive the reader.
class TlvReader {
 public:
  // InvalidArgument for truncated or duplicated fields.
  static absl::StatusOr<TlvReader> Parse(ByteView encoded);

  bool Has(uint16_t tag) const { return fields_.count(tag) != 0; }
  // NotFound naming `tag` when absent (InvalidArgument for a bad width).
  absl::StatusOr<ByteView> GetBytes(uint16_t tag) const;
  absl::StatusOr<std::string> GetString(uint16_t tag) const;
  absl::StatusOr<uint64_t> GetU64(uint16_t tag) const;
  absl::StatusOr<bool> GetBool(uint16_t tag) const;
  // The value or `fallback` when the field is absent.
  uint64_t U64Or(uint16_t tag, uint64_t fallback) const;
  bool BoolOr(uint16_t tag, bool fallback) const;

 private:
  std::map<uint16_t, ByteView> fields_;
};

}  // namespace coffer

#endif  // COFFER_BASE_TLV_H_
