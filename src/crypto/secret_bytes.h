// SecretBytes: the only container for key material, passwords and PINs.
//
// - Cleansed (OPENSSL_cleanse) before its memory is released.
// - Allocated from OpenSSL's secure heap (mlocked, excluded from core dumps)
//   once InitSecureMemory() has run; from the ordinary heap otherwise.
// - Move-only: a copy is made only by an explicit Clone().
// - The bytes are read only through ExposeSecret()/ExposeSecretMutable(), so
//   every place that touches a secret can be found with grep.
// Not thread-safe for concurrent mutation; concurrent reads are fine.
#ifndef COFFER_CRYPTO_SECRET_BYTES_H_
#define COFFER_CRYPTO_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "base/bytes.h"

namespace coffer::crypto {

class SecretBytes {
 public:
  SecretBytes() noexcept = default;
  // `size` zero bytes.
  explicit SecretBytes(size_t size);
  // Copies `bytes` in. The caller remains responsible for cleansing its copy.
  static SecretBytes CopyOf(ByteView bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  SecretBytes Clone() const;
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  ByteView ExposeSecret() const { return ByteView(data_, size_); }
  absl::Span<uint8_t> ExposeSecretMutable() { return {data_, size_}; }

  // Shrinks to `new_size` (<= size()), cleansing the bytes cut off.
  void Truncate(size_t new_size);

 private:
  void Release() noexcept;

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Compares in time that depends only on the lengths (lengths are public).
bool ConstantTimeEquals(ByteView a, ByteView b);

// Sets up OpenSSL's secure heap of `bytes` (a power of two) so SecretBytes
// and OpenSSL's own private-key numbers live in locked, non-dumpable pages.
// SecretBytes use at most half of it and spill to the ordinary heap
// (still cleansed on free) beyond that: OpenSSL's own secure allocations
// (parsed private keys, DRBG reseeds) fail outright on a full heap. Call
// once at process start; later calls are no-ops. If the heap cannot be
// locked (RLIMIT_MEMLOCK) it returns FailedPrecondition; it is still used.
absl::Status InitSecureMemory(size_t bytes = size_t{4} << 20);

// Forbids core dumps of this process (RLIMIT_CORE 0, PR_SET_DUMPABLE 0).
absl::Status DisableCoreDumps();

}  // namespace coffer::crypto

#endif  // COFFER_CRYPTO_SECRET_BYTES_H_
