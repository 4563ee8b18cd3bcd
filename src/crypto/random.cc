#include "crypto/random.h"

#include <openssl/rand.h>

#include "crypto/internal/openssl_util.h"

namespace coffer::crypto {
namespace {

class OpenSslRandom final : public RandomSource {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) override {
    // RAND_bytes takes an int; draw in chunks so any size works.
    constexpr size_t kChunk = size_t{1} << 30;
    for (size_t done = 0; done < out.size();) {
      size_t n = std::min(kChunk, out.size() - done);
      if (RAND_bytes(out.data() + done, static_cast<int>(n)) != 1) {
        return internal::OpenSslError("RAND_bytes");
      }
      done += n;
    }
    return absl::OkStatus();
  }
};

}  // namespace

RandomSource& SystemRandom() {
  static OpenSslRandom* const instance = new OpenSslRandom();
  return *instance;
}

absl::StatusOr<Bytes> RandomBytes(size_t size, RandomSource& rng) {
  Bytes out(size);
  if (absl::Status s = rng.Fill(absl::MakeSpan(out)); !s.ok()) return s;
  return out;
}

absl::StatusOr<SecretBytes> RandomSecret(size_t size, RandomSource& rng) {
  SecretBytes out(size);
  if (absl::Status s = rng.Fill(out.ExposeSecretMutable()); !s.ok()) return s;
  return out;
}

}  // namespace coffer::crypto
