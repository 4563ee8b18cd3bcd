#include "crypto/password.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/bytes.h"
#include "base/status.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/random.h"

namespace coffer::crypto {
namespace {

using internal::OpenSslError;

constexpr char kPrefix[] = "scrypt";
constexpr char kVersion[] = "v=1";
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
// Accepted from a stored hash, so a later version may lengthen either.
constexpr size_t kMaxSaltBytes = 64;
constexpr size_t kMaxHashBytes = 64;

constexpr uint32_t kMinLogN = 10;
constexpr uint32_t kMaxLogN = 20;
constexpr uint32_t kMaxR = 32;
constexpr uint32_t kMaxP = 16;
constexpr uint64_t kMaxMemory = uint64_t{256} << 20;  // 128 * n * r bytes
constexpr uint64_t kMaxWork = uint64_t{1} << 22;      // n * r * p

constexpr char kBase64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Standard base64 without padding, as the PHC format prescribes.
std::string Base64Encode(ByteView bytes) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (const uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kBase64[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kBase64[(acc << (6 - bits)) & 0x3f]);
  return out;
}

// Strict: only the alphabet, no padding, unused low bits zero.
std::optional<Bytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const char* pos = c == '\0' ? nullptr : std::strchr(kBase64, c);
    if (pos == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(pos - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// Decimal digits only (no sign, space or leading zero), at most `max`.
std::optional<uint32_t> ParseNumber(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 9 || (text[0] == '0' && text.size() > 1)) {
    return std::nullopt;
  }
  uint32_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

absl::StatusOr<uint32_t> LogN(uint64_t n) {
  for (uint32_t log = kMinLogN; log <= kMaxLogN; ++log) {
    if (n == uint64_t{1} << log) return log;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("scrypt n must be a power of two from 2^", kMinLogN,
                   " to 2^", kMaxLogN, "; got ", n));
}

absl::Status CheckParams(const PasswordHashParams& params) {
  COFFER_RETURN_IF_ERROR(LogN(params.n).status());
  if (params.r < 1 || params.r > kMaxR || params.p < 1 || params.p > kMaxP) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt needs 1 <= r <= ", kMaxR, " and 1 <= p <= ", kMaxP,
                     "; got r=", params.r, " p=", params.p));
  }
  const uint64_t memory = 128 * params.n * params.r;
  const uint64_t work = params.n * params.r * params.p;
  if (memory > kMaxMemory || work > kMaxWork) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scrypt parameters too costly: 128*n*r must be <= ", kMaxMemory,
        " bytes and n*r*p <= ", kMaxWork, "; got ", memory, " and ", work));
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> Scrypt(const SecretBytes& password, ByteView salt,
                             const PasswordHashParams& params,
                             size_t out_size) {
  static EVP_KDF* const kdf = internal::FetchKdf("SCRYPT");
  if (kdf == nullptr) return OpenSslError("fetching SCRYPT");
  internal::KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
  if (ctx == nullptr) return OpenSslError("EVP_KDF_CTX_new");
  uint64_t n = params.n;
  uint32_t r = params.r;
  uint32_t p = params.p;
  uint64_t max_memory = 2 * kMaxMemory;  // V plus the p blocks of B
  ByteView pw = password.ExposeSecret();
  // OSSL_PARAM wants mutable pointers for inputs it only reads.
  OSSL_PARAM ossl_params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_PASSWORD, const_cast<uint8_t*>(pw.data()), pw.size()),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &max_memory),
      OSSL_PARAM_construct_end(),
  };
  Bytes out(out_size);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), ossl_params) != 1) {
    return OpenSslError("scrypt");
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

struct Parsed {
  PasswordHashParams params;
  Bytes salt;
  Bytes hash;
};

absl::StatusOr<Parsed> Parse(std::string_view encoded) {
  const absl::Status malformed = absl::InvalidArgumentError(
      "password hash is not in the format "
      "$scrypt$v=1$ln=<log2 n>,r=<r>,p=<p>$<base64 salt>$<base64 hash>");
  const std::vector<std::string_view> fields = Split(encoded, '$');
  if (fields.size() != 6 || !fields[0].empty() || fields[1] != kPrefix ||
      fields[2] != kVersion) {
    return malformed;
  }
  const std::vector<std::string_view> costs = Split(fields[3], ',');
  if (costs.size() != 3 || !costs[0].starts_with("ln=") ||
      !costs[1].starts_with("r=") || !costs[2].starts_with("p=")) {
    return malformed;
  }
  // The caps here only keep the arithmetic small; CheckParams sets limits.
  const std::optional<uint32_t> ln = ParseNumber(costs[0].substr(3), 63);
  const std::optional<uint32_t> r = ParseNumber(costs[1].substr(2), 1u << 20);
  const std::optional<uint32_t> p = ParseNumber(costs[2].substr(2), 1u << 20);
  std::optional<Bytes> salt = Base64Decode(fields[4]);
  std::optional<Bytes> hash = Base64Decode(fields[5]);
  if (!ln || !r || !p || !salt || !hash) return malformed;
  if (salt->size() < kSaltBytes || salt->size() > kMaxSaltBytes ||
      hash->size() < kHashBytes || hash->size() > kMaxHashBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "password hash needs a ", kSaltBytes, "-", kMaxSaltBytes,
        " byte salt and a ", kHashBytes, "-", kMaxHashBytes, " byte hash"));
  }
  Parsed parsed{
      {uint64_t{1} << *ln, *r, *p}, *std::move(salt), *std::move(hash)};
  COFFER_RETURN_IF_ERROR(CheckParams(parsed.params));
  return parsed;
}

}  // namespace

absl::StatusOr<std::string> HashPassword(const SecretBytes& password,
                                         const PasswordHashParams& params) {
  if (password.empty()) return absl::InvalidArgumentError("empty password");
  COFFER_RETURN_IF_ERROR(CheckParams(params));
  COFFER_ASSIGN_OR_RETURN(const uint32_t log_n, LogN(params.n));
  COFFER_ASSIGN_OR_RETURN(const Bytes salt, RandomBytes(kSaltBytes));
  COFFER_ASSIGN_OR_RETURN(const Bytes hash,
                          Scrypt(password, salt, params, kHashBytes));
  return absl::StrCat("$", kPrefix, "$", kVersion, "$ln=", log_n,
                      ",r=", params.r, ",p=", params.p, "$", Base64Encode(salt),
                      "$", Base64Encode(hash));
}

absl::Status VerifyPassword(const SecretBytes& password,
                            std::string_view encoded) {
  if (password.empty()) return absl::InvalidArgumentError("empty password");
  COFFER_ASSIGN_OR_RETURN(const Parsed parsed, Parse(encoded));
  COFFER_ASSIGN_OR_RETURN(
      const Bytes derived,
      Scrypt(password, parsed.salt, parsed.params, parsed.hash.size()));
  if (!ConstantTimeEquals(derived, parsed.hash)) {
    return absl::DataLossError("wrong password");
  }
  return absl::OkStatus();
}

}  // namespace coffer::crypto
