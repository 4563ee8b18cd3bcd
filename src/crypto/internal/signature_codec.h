// Conversions between the two ECDSA signature encodings.
#ifndef COFFER_CRYPTO_INTERNAL_SIGNATURE_CODEC_H_
#define COFFER_CRYPTO_INTERNAL_SIGNATURE_CODEC_H_

#include "absl/status/statusor.h"
#include "base/bytes.h"

namespace coffer::crypto::internal {

// r || s, each `field_size` bytes -> DER SEQUENCE { r INTEGER, s INTEGER }.
// InvalidArgument if the length is not 2 * field_size.
absl::StatusOr<Bytes> EcdsaP1363ToDer(ByteView p1363, size_t field_size);

// DER -> r || s, each left-padded to `field_size` bytes.
absl::StatusOr<Bytes> EcdsaDerToP1363(ByteView der, size_t field_size);

}  // namespace coffer::crypto::internal

#endif  // COFFER_CRYPTO_INTERNAL_SIGNATURE_CODEC_H_
