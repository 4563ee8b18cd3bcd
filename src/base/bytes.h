// Byte containers for non-secret data (ciphertexts, public keys, digests).
// Secret material uses crypto::SecretBytes instead.
#ifndef COFFER_BASE_BYTES_H_
#define COFFER_BASE_BYTES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace coffer {

using Bytes = std::vector<uint8_t>;
using ByteView = absl::Span<const uint8_t>;

// Views the characters of `s` as bytes, without copying.
ByteView AsBytes(std::string_view s);

// `label`'s bytes then one 0x00: the usual prefix of a domain-separated
// associated-data or KDF input.
Bytes LabelPrefix(std::string_view label);

// Lower-case hex, two digits per byte.
std::string HexEncode(ByteView bytes);

// Accepts upper- or lower-case hex with an even number of digits.
// InvalidArgument names the offset of the first bad character.
absl::StatusOr<Bytes> HexDecode(std::string_view hex);

}  // namespace coffer

#endif  // COFFER_BASE_BYTES_H_
