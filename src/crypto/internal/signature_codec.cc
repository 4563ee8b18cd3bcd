#include "crypto/internal/signature_codec.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "absl/strings/str_cat.h"
#include "crypto/internal/openssl_util.h"

namespace coffer::crypto::internal {
namespace {

using SigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

}  // namespace

absl::StatusOr<Bytes> EcdsaP1363ToDer(ByteView p1363, size_t field_size) {
  if (p1363.size() != 2 * field_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("ECDSA r||s signature must be ", 2 * field_size,
                     " bytes; got ", p1363.size()));
  }
  const int n = static_cast<int>(field_size);
  BnPtr r(BN_bin2bn(p1363.data(), n, nullptr));
  BnPtr s(BN_bin2bn(p1363.data() + field_size, n, nullptr));
  SigPtr sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr ||
      ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return OpenSslError("ECDSA_SIG_set0");
  }
  r.release();  // now owned by sig
  s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return OpenSslError("i2d_ECDSA_SIG");
  Bytes der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return OpenSslError("i2d_ECDSA_SIG");
  return der;
}

absl::StatusOr<Bytes> EcdsaDerToP1363(ByteView der, size_t field_size) {
  const unsigned char* p = der.data();
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (sig == nullptr) return OpenSslError("d2i_ECDSA_SIG");
  Bytes out(2 * field_size);
  const int n = static_cast<int>(field_size);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), n) != n ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + field_size, n) !=
          n) {
    return OpenSslError("BN_bn2binpad");
  }
  return out;
}

}  // namespace coffer::crypto::internal
