// NIST SP 800-108 key derivation in counter mode (OpenSSL EVP_KDF "KBKDF").
//
// Output block i = PRF(key, [i]_32 || fixed), i = 1, 2, ... (32-bit
// big-endian counter before the fixed data), where by default
//   fixed = label || 0x00 || context || [L]_32   (L = output length in bits)
// as SP 800-108 §5 describes. The options turn the separator and [L] off so
// callers (and NIST's vectors, whose fixed data is opaque) can supply the
// fixed data whole as `label`.
#ifndef COFFER_CRYPTO_KDF_H_
#define COFFER_CRYPTO_KDF_H_

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "crypto/secret_bytes.h"

namespace coffer::crypto {

enum class KbkdfPrf {
  kHmacSha1,
  kHmacSha224,
  kHmacSha256,
  kHmacSha384,
  kHmacSha512,
  kCmacAes,  // AES-128/192/256-CMAC, chosen by the key's length
};

struct KbkdfOptions {
  KbkdfPrf prf = KbkdfPrf::kHmacSha256;
  bool use_separator = true;  // the 0x00 byte between label and context
  bool use_length = true;     // [L]_32 after the context
};

// Derives `out_size` bytes (1 to 1 MiB). InvalidArgument for an empty key,
// a CMAC key that is not 16/24/32 bytes or an out-of-range size.
absl::StatusOr<SecretBytes> KbkdfCounter(const SecretBytes& key, ByteView label,
                                         ByteView context, size_t out_size,
                                         const KbkdfOptions& options = {});

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_KDF_H_
