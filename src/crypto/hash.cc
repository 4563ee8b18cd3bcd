#include "crypto/hash.h"

#include "base/status.h"
#include "crypto/internal/openssl_util.h"

namespace coffer::crypto {

using internal::FetchDigest;
using internal::OpenSslError;

std::string_view HashName(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha1:
      return "SHA1";
    case HashAlg::kSha224:
      return "SHA2-224";
    case HashAlg::kSha256:
      return "SHA2-256";
    case HashAlg::kSha384:
      return "SHA2-384";
    case HashAlg::kSha512:
      return "SHA2-512";
  }
  return "unknown";
}

size_t HashSize(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha1:
      return 20;
    case HashAlg::kSha224:
      return 28;
    case HashAlg::kSha256:
      return 32;
    case HashAlg::kSha384:
      return 48;
    case HashAlg::kSha512:
      return 64;
  }
  return 0;
}

absl::StatusOr<Bytes> Digest(HashAlg alg, ByteView data) {
  const EVP_MD* md = FetchDigest(alg);
  if (md == nullptr) return OpenSslError("fetching digest");
  Bytes out(HashSize(alg));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) !=
      1) {
    return OpenSslError("EVP_Digest");
  }
  return out;
}

struct Hasher::State {
  internal::MdCtxPtr ctx;
  HashAlg alg;
};

Hasher::Hasher(std::unique_ptr<State> state) : state_(std::move(state)) {}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

absl::StatusOr<Hasher> Hasher::Create(HashAlg alg) {
  const EVP_MD* md = FetchDigest(alg);
  if (md == nullptr) return OpenSslError("fetching digest");
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) {
    return OpenSslError("EVP_DigestInit_ex2");
  }
  return Hasher(std::make_unique<State>(State{std::move(ctx), alg}));
}

absl::Status Hasher::Update(ByteView data) {
  if (state_ == nullptr) {
    return absl::FailedPreconditionError("Hasher used after Finish()");
  }
  if (EVP_DigestUpdate(state_->ctx.get(), data.data(), data.size()) != 1) {
    return OpenSslError("EVP_DigestUpdate");
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> Hasher::Finish() {
  if (state_ == nullptr) {
    return absl::FailedPreconditionError("Hasher used after Finish()");
  }
  std::unique_ptr<State> state = std::move(state_);
  Bytes out(HashSize(state->alg));
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(state->ctx.get(), out.data(), &len) != 1) {
    return OpenSslError("EVP_DigestFinal_ex");
  }
  return out;
}

}  // namespace coffer::crypto
