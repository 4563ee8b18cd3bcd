// Coffer's crypto wrappers against the same operations written directly on
// OpenSSL's EVP API, in one Google Benchmark run.
//
// Every operation is registered twice, as "<op>/coffer" and "<op>/raw", with
// identical inputs and (where it matters) identical key material. The raw
// side is what a competent OpenSSL user would write: algorithm objects are
// fetched once outside the timed loop, a fresh EVP_*_CTX is made per
// operation (as the wrappers do) and output goes into a std::vector sized as
// needed.
//
// Defaults (each overridable on the command line):
//   --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//   --benchmark_display_aggregates_only=true
// plus one flag of our own:
//   --coffer_secure_heap=true|false   call crypto::InitSecureMemory() first,
//                                     as a production Coffer process does
//                                     (default true)
//
// After the run a table compares the median real time per operation; the
// ratio is raw / coffer, so above 1 means the wrapper is faster. Timings
// never make the program fail: a row under its goal is only marked BELOW.
//
// Quick run: crypto_bench --benchmark_min_time=0.05 --benchmark_repetitions=2

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "benchmark/benchmark.h"
#include "crypto/crypto.h"

namespace {

using coffer::Bytes;
using coffer::ByteView;
namespace crypto = coffer::crypto;

constexpr double kDefaultGoal = 0.95;  // raw / coffer must be at least this
constexpr size_t kRecordSize = 4096;
constexpr size_t kMessageSize = 48;  // the signed message: 32..64 bytes

// ---------------------------------------------------------------------------
// OpenSSL ownership.

template <auto kFree>
struct OsslDeleter {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using CipherPtr = std::unique_ptr<EVP_CIPHER, OsslDeleter<EVP_CIPHER_free>>;
using CipherCtxPtr =
    std::unique_ptr<EVP_CIPHER_CTX, OsslDeleter<EVP_CIPHER_CTX_free>>;
using KdfPtr = std::unique_ptr<EVP_KDF, OsslDeleter<EVP_KDF_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OsslDeleter<EVP_KDF_CTX_free>>;
using MdPtr = std::unique_ptr<EVP_MD, OsslDeleter<EVP_MD_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY_free>>;

// Deterministic, distinct test bytes.
Bytes Pattern(size_t size, uint8_t seed) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) {
    out[i] = static_cast<uint8_t>(seed + i * 131 + (i >> 8));
  }
  return out;
}

absl::Status OsslError(std::string_view what) {
  return absl::InternalError(std::string(what) + " failed");
}

// ---------------------------------------------------------------------------
// The raw OpenSSL side, one function per operation. Each allocates its own
// context and output exactly as a caller would per operation.

// AES key wrap (KW/KWP) in either direction. The output is at most the input
// rounded up to 8 bytes plus 8 when wrapping, at most the input when
// unwrapping.
absl::StatusOr<Bytes> RawKeyWrap(const EVP_CIPHER* cipher, bool wrap,
                                 ByteView kek, ByteView in) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OsslError("EVP_CIPHER_CTX_new");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr,
                        wrap ? 1 : 0) != 1) {
    return OsslError("EVP_CipherInit_ex");
  }
  Bytes out(wrap ? (in.size() + 7) / 8 * 8 + 8 : in.size());
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &len, in.data(),
                       static_cast<int>(in.size())) != 1) {
    return wrap ? OsslError("wrap") : absl::DataLossError("unwrap failed");
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    return OsslError("EVP_CipherFinal_ex");
  }
  out.resize(static_cast<size_t>(len + final_len));
  return out;
}

// SP 800-108 counter-mode KBKDF. `params` is built once by the caller.
absl::StatusOr<Bytes> RawKbkdf(EVP_KDF* kdf, const OSSL_PARAM* params,
                               size_t out_size) {
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
  if (ctx == nullptr) return OsslError("EVP_KDF_CTX_new");
  Bytes out(out_size);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return OsslError("EVP_KDF_derive");
  }
  return out;
}

// AES-GCM encryption; returns ciphertext || tag.
absl::StatusOr<Bytes> RawGcmEncrypt(const EVP_CIPHER* cipher, ByteView key,
                                    ByteView iv, ByteView plaintext,
                                    ByteView aad, size_t tag_size) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OsslError("EVP_CIPHER_CTX_new");
  // The default GCM IV length is 12 bytes, which is what we use.
  if (EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data()) !=
      1) {
    return OsslError("EVP_EncryptInit_ex");
  }
  int len = 0;
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                        static_cast<int>(aad.size())) != 1) {
    return OsslError("EVP_EncryptUpdate(aad)");
  }
  Bytes out(plaintext.size() + tag_size);
  if (EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1) {
    return OsslError("EVP_EncryptUpdate");
  }
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    return OsslError("EVP_EncryptFinal_ex");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG,
                          static_cast<int>(tag_size),
                          out.data() + plaintext.size()) != 1) {
    return OsslError("EVP_CTRL_GCM_GET_TAG");
  }
  return out;
}

// One-shot EVP_DigestSign. `max_size` is EVP_PKEY_get_size(), computed once.
absl::StatusOr<Bytes> RawSign(EVP_PKEY* pkey, const EVP_MD* md, bool rsa_pkcs1,
                              size_t max_size, ByteView message) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return OsslError("EVP_MD_CTX_new");
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, pkey) != 1) {
    return OsslError("EVP_DigestSignInit");
  }
  if (rsa_pkcs1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return OsslError("EVP_PKEY_CTX_set_rsa_padding");
  }
  Bytes sig(max_size);
  size_t sig_len = sig.size();
  if (EVP_DigestSign(ctx.get(), sig.data(), &sig_len, message.data(),
                     message.size()) != 1) {
    return OsslError("EVP_DigestSign");
  }
  sig.resize(sig_len);
  return sig;
}

// ---------------------------------------------------------------------------
// Inputs and algorithm objects shared by both sides, made once in main().

struct Fixtures {
  Bytes kek = Pattern(32, 1);  // AES-256 key-encryption key
  Bytes key32 = Pattern(32, 2);
  Bytes record = Pattern(kRecordSize, 3);
  Bytes kdf_key = Pattern(32, 4);
  Bytes label = Pattern(16, 5);
  Bytes context = Pattern(24, 6);
  Bytes gcm_key = Pattern(32, 7);
  Bytes iv = Pattern(crypto::AesGcm::kIvSize, 8);
  Bytes aad = Pattern(16, 9);
  Bytes message = Pattern(kMessageSize, 10);

  // Coffer side.
  std::unique_ptr<crypto::AesKeyWrap> kwp;
  std::unique_ptr<crypto::AesGcm> gcm;
  crypto::SecretBytes kdf_secret;
  std::unique_ptr<crypto::PrivateKey> rsa;
  std::unique_ptr<crypto::PrivateKey> ec;
  Bytes wrapped32;       // kwp->Wrap(key32)
  Bytes wrapped_record;  // kwp->Wrap(record)

  // Raw side.
  CipherPtr kwp_cipher;
  CipherPtr gcm_cipher;
  KdfPtr kbkdf;
  MdPtr sha256;
  PkeyPtr raw_rsa;
  PkeyPtr raw_ec;
  size_t rsa_sig_max = 0;
  size_t ec_sig_max = 0;
  char kdf_mode[8] = "counter";
  char kdf_mac[5] = "HMAC";
  char kdf_digest[7] = "SHA256";
  OSSL_PARAM kdf_params[7];
};

template <typename T>
absl::Status Assign(absl::StatusOr<T> result, std::unique_ptr<T>& out) {
  if (!result.ok()) return result.status();
  out = std::make_unique<T>(*std::move(result));
  return absl::OkStatus();
}

absl::StatusOr<PkeyPtr> ImportRawKey(const crypto::PrivateKey& key) {
  absl::StatusOr<crypto::SecretBytes> der = key.ToPkcs8Der();
  if (!der.ok()) return der.status();
  ByteView bytes = der->ExposeSecret();
  const unsigned char* p = bytes.data();
  PkeyPtr pkey(
      d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(bytes.size())));
  if (pkey == nullptr) return OsslError("d2i_AutoPrivateKey");
  return pkey;
}

absl::Status SetUp(Fixtures& f) {
  using crypto::SecretBytes;
  absl::Status s =
      Assign(crypto::AesKeyWrap::Create(crypto::KeyWrapMode::kKwp,
                                        SecretBytes::CopyOf(f.kek)),
             f.kwp);
  if (s.ok()) {
    s = Assign(crypto::AesGcm::Create(SecretBytes::CopyOf(f.gcm_key)), f.gcm);
  }
  if (s.ok()) {
    s = Assign(crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kRsa, 2048),
               f.rsa);
  }
  if (s.ok()) {
    s = Assign(crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEcP256),
               f.ec);
  }
  if (!s.ok()) return s;
  f.kdf_secret = SecretBytes::CopyOf(f.kdf_key);
  absl::StatusOr<Bytes> w = f.kwp->Wrap(f.key32);
  if (!w.ok()) return w.status();
  f.wrapped32 = *std::move(w);
  w = f.kwp->Wrap(f.record);
  if (!w.ok()) return w.status();
  f.wrapped_record = *std::move(w);

  f.kwp_cipher.reset(EVP_CIPHER_fetch(nullptr, "AES-256-WRAP-PAD", nullptr));
  f.gcm_cipher.reset(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  f.kbkdf.reset(EVP_KDF_fetch(nullptr, "KBKDF", nullptr));
  f.sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!f.kwp_cipher || !f.gcm_cipher || !f.kbkdf || !f.sha256) {
    return OsslError("fetching OpenSSL algorithms");
  }
  absl::StatusOr<PkeyPtr> k = ImportRawKey(*f.rsa);
  if (!k.ok()) return k.status();
  f.raw_rsa = *std::move(k);
  k = ImportRawKey(*f.ec);
  if (!k.ok()) return k.status();
  f.raw_ec = *std::move(k);
  f.rsa_sig_max = static_cast<size_t>(EVP_PKEY_get_size(f.raw_rsa.get()));
  f.ec_sig_max = static_cast<size_t>(EVP_PKEY_get_size(f.raw_ec.get()));

  // SP 800-108 defaults (separator and [L]_32 on) match KbkdfOptions{}.
  OSSL_PARAM* p = f.kdf_params;
  *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, f.kdf_mode, 0);
  *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, f.kdf_mac, 0);
  *p++ =
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, f.kdf_digest, 0);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, f.kdf_key.data(),
                                           f.kdf_key.size());
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, f.label.data(),
                                           f.label.size());
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                           f.context.data(), f.context.size());
  *p = OSSL_PARAM_construct_end();
  return absl::OkStatus();
}

// Checks that both sides compute the same thing, so the comparison is fair.
// Returns the number of mismatches (each one printed).
int CrossCheck(const Fixtures& f) {
  int failures = 0;
  auto check = [&failures](const char* what, bool ok) {
    if (!ok) {
      std::fprintf(stderr, "CROSS-CHECK FAILED: %s\n", what);
      ++failures;
    }
  };
  auto same = [](const auto& a, const auto& b) {
    return a.ok() && b.ok() && ByteView(*a) == ByteView(*b);
  };
  const crypto::SignatureParams rsa_params{
      crypto::SignatureAlgorithm::kRsaPkcs1v15, crypto::HashAlg::kSha256};
  const crypto::SignatureParams ec_params{crypto::SignatureAlgorithm::kEcdsaDer,
                                          crypto::HashAlg::kSha256};

  check("KWP wrap 32 B",
        same(f.kwp->Wrap(f.key32),
             RawKeyWrap(f.kwp_cipher.get(), true, f.kek, f.key32)));
  check("KWP wrap 4 KiB",
        same(f.kwp->Wrap(f.record),
             RawKeyWrap(f.kwp_cipher.get(), true, f.kek, f.record)));
  absl::StatusOr<Bytes> raw_unwrap =
      RawKeyWrap(f.kwp_cipher.get(), false, f.kek, f.wrapped_record);
  absl::StatusOr<crypto::SecretBytes> unwrap = f.kwp->Unwrap(f.wrapped_record);
  check("KWP unwrap 4 KiB", raw_unwrap.ok() && unwrap.ok() &&
                                ByteView(*raw_unwrap) == ByteView(f.record) &&
                                unwrap->ExposeSecret() == ByteView(f.record));
  absl::StatusOr<crypto::SecretBytes> kdf =
      crypto::KbkdfCounter(f.kdf_secret, f.label, f.context, 32);
  absl::StatusOr<Bytes> raw_kdf = RawKbkdf(f.kbkdf.get(), f.kdf_params, 32);
  check("KBKDF",
        kdf.ok() && raw_kdf.ok() && kdf->ExposeSecret() == ByteView(*raw_kdf));
  check("AES-GCM", same(f.gcm->EncryptWithIv(f.iv, f.record, f.aad),
                        RawGcmEncrypt(f.gcm_cipher.get(), f.gcm_key, f.iv,
                                      f.record, f.aad, 16)));
  // PKCS#1 v1.5 is deterministic; ECDSA is not, so verify across instead.
  check("RSA sign", same(f.rsa->Sign(rsa_params, f.message),
                         RawSign(f.raw_rsa.get(), f.sha256.get(), true,
                                 f.rsa_sig_max, f.message)));
  absl::StatusOr<Bytes> raw_ec_sig =
      RawSign(f.raw_ec.get(), f.sha256.get(), false, f.ec_sig_max, f.message);
  check("ECDSA sign",
        raw_ec_sig.ok() &&
            f.ec->public_key().Verify(ec_params, f.message, *raw_ec_sig).ok());
  return failures;
}

// ---------------------------------------------------------------------------
// Registration.

struct Operation {
  std::string id;     // benchmark name prefix, e.g. "KWP_wrap_32B"
  std::string title;  // table row, e.g. "KWP wrap 32 B"
  double goal;        // minimum raw/coffer ratio
};

std::vector<Operation>& Operations() {
  static auto* ops = new std::vector<Operation>();
  return *ops;
}

// Runs `op` (returning absl::StatusOr<T>) once per iteration.
template <typename Op>
void TimeLoop(benchmark::State& state, int64_t bytes_per_op, const Op& op) {
  for (auto _ : state) {
    auto result = op();
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
  if (bytes_per_op > 0)
    state.SetBytesProcessed(state.iterations() * bytes_per_op);
}

// Registers "<id>/coffer" and "<id>/raw".
template <typename CofferOp, typename RawOp>
void RegisterPair(std::string id, std::string title, int64_t bytes_per_op,
                  benchmark::TimeUnit unit, CofferOp coffer_op, RawOp raw_op) {
  benchmark::RegisterBenchmark((id + "/coffer").c_str(),
                               [bytes_per_op, coffer_op](benchmark::State& s) {
                                 TimeLoop(s, bytes_per_op, coffer_op);
                               })
      ->Unit(unit);
  benchmark::RegisterBenchmark((id + "/raw").c_str(), [bytes_per_op, raw_op](
                                                          benchmark::State& s) {
    TimeLoop(s, bytes_per_op, raw_op);
  })->Unit(unit);
  Operations().push_back({std::move(id), std::move(title), kDefaultGoal});
}

void RegisterAll(const Fixtures& fx) {
  const Fixtures* f = &fx;
  const auto ns = benchmark::kNanosecond;
  const auto us = benchmark::kMicrosecond;
  const auto record_bytes = static_cast<int64_t>(kRecordSize);

  RegisterPair(
      "KWP_wrap_32B", "KWP wrap 32 B", 32, ns,
      [f] { return f->kwp->Wrap(f->key32); },
      [f] { return RawKeyWrap(f->kwp_cipher.get(), true, f->kek, f->key32); });
  RegisterPair(
      "KWP_unwrap_32B", "KWP unwrap 32 B", 32, ns,
      [f] { return f->kwp->Unwrap(f->wrapped32); },
      [f] {
        return RawKeyWrap(f->kwp_cipher.get(), false, f->kek, f->wrapped32);
      });
  RegisterPair(
      "KWP_wrap_4KiB", "KWP wrap 4 KiB", record_bytes, ns,
      [f] { return f->kwp->Wrap(f->record); },
      [f] { return RawKeyWrap(f->kwp_cipher.get(), true, f->kek, f->record); });
  RegisterPair(
      "KWP_unwrap_4KiB", "KWP unwrap 4 KiB", record_bytes, ns,
      [f] { return f->kwp->Unwrap(f->wrapped_record); },
      [f] {
        return RawKeyWrap(f->kwp_cipher.get(), false, f->kek,
                          f->wrapped_record);
      });
  RegisterPair(
      "KBKDF_HMAC_SHA256_32B", "KBKDF HMAC-SHA256 32 B", 0, ns,
      [f] {
        return crypto::KbkdfCounter(f->kdf_secret, f->label, f->context, 32);
      },
      [f] { return RawKbkdf(f->kbkdf.get(), f->kdf_params, 32); });
  RegisterPair(
      "AES256_GCM_encrypt_4KiB", "AES-256-GCM enc 4 KiB", record_bytes, ns,
      [f] { return f->gcm->EncryptWithIv(f->iv, f->record, f->aad); },
      [f] {
        return RawGcmEncrypt(f->gcm_cipher.get(), f->gcm_key, f->iv, f->record,
                             f->aad, crypto::AesGcm::kTagSize);
      });
  RegisterPair(
      "RSA2048_sign_PKCS1_SHA256", "RSA-2048 sign PKCS#1", 0, us,
      [f] {
        return f->rsa->Sign({crypto::SignatureAlgorithm::kRsaPkcs1v15,
                             crypto::HashAlg::kSha256},
                            f->message);
      },
      [f] {
        return RawSign(f->raw_rsa.get(), f->sha256.get(), true, f->rsa_sig_max,
                       f->message);
      });
  RegisterPair(
      "ECDSA_P256_sign_SHA256", "ECDSA P-256 sign", 0, us,
      [f] {
        return f->ec->Sign(
            {crypto::SignatureAlgorithm::kEcdsaDer, crypto::HashAlg::kSha256},
            f->message);
      },
      [f] {
        return RawSign(f->raw_ec.get(), f->sha256.get(), false, f->ec_sig_max,
                       f->message);
      });
  // Seal draws a fresh IV from the DRBG each time: informational only, its
  // raw counterpart is the fixed-IV loop plus the RAND_bytes call it implies.
  benchmark::RegisterBenchmark(
      "AES256_GCM_seal_4KiB/coffer", [f, record_bytes](benchmark::State& s) {
        TimeLoop(s, record_bytes,
                 [f] { return f->gcm->Seal(f->record, f->aad); });
      });
}

// ---------------------------------------------------------------------------
// Reporting.

double ToNanoseconds(double value, benchmark::TimeUnit unit) {
  switch (unit) {
    case benchmark::kNanosecond:
      return value;
    case benchmark::kMicrosecond:
      return value * 1e3;
    case benchmark::kMillisecond:
      return value * 1e6;
    case benchmark::kSecond:
      return value * 1e9;
  }
  return value;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid]
                                : (values[mid - 1] + values[mid]) / 2;
}

// Prints like the console reporter and remembers, per benchmark, the
// per-iteration real times of the repetitions and Google Benchmark's own
// "median" aggregate (present when there are at least two repetitions).
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      Result& r = results_[run.run_name.function_name];
      if (run.error_occurred) {
        r.error = run.error_message;
        continue;
      }
      const double ns = ToNanoseconds(run.GetAdjustedRealTime(), run.time_unit);
      if (run.run_type == Run::RT_Iteration) {
        r.samples.push_back(ns);
      } else if (run.aggregate_name == "median" &&
                 run.aggregate_unit == benchmark::kTime) {
        r.median_ns = ns;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // Median real ns/op, or a negative value if the benchmark did not run.
  double MedianNs(const std::string& name, std::string* error) const {
    auto it = results_.find(name);
    if (it == results_.end()) return -1;
    if (!it->second.error.empty()) {
      *error = it->second.error;
      return -1;
    }
    if (it->second.median_ns > 0) return it->second.median_ns;
    if (!it->second.samples.empty()) return Median(it->second.samples);
    return -1;
  }

 private:
  struct Result {
    std::vector<double> samples;
    double median_ns = -1;
    std::string error;
  };
  std::map<std::string, Result> results_;
};

void PrintTable(const CollectingReporter& reporter, bool secure_heap) {
  std::printf(
      "\nMedian real time per operation (ratio = raw / coffer; >1 means the "
      "wrapper is faster). Secure heap: %s.\n\n",
      secure_heap ? "on" : "off");
  std::printf("  %-24s %16s %20s %19s %9s %6s %14s %14s\n", "operation",
              "coffer (ns/op)", "raw OpenSSL (ns/op)", "ratio (raw/coffer)",
              "goal", "", "coffer ops/s", "raw ops/s");
  for (const Operation& op : Operations()) {
    std::string coffer_error;
    std::string raw_error;
    const double coffer = reporter.MedianNs(op.id + "/coffer", &coffer_error);
    const double raw = reporter.MedianNs(op.id + "/raw", &raw_error);
    if (coffer < 0 && raw < 0 && coffer_error.empty() && raw_error.empty()) {
      continue;  // filtered out
    }
    char goal[16];
    std::snprintf(goal, sizeof(goal), ">= %.2fx", op.goal);
    if (coffer <= 0 || raw <= 0) {
      const std::string& why = !coffer_error.empty() ? coffer_error
                               : !raw_error.empty()  ? raw_error
                                                     : "one side not run";
      std::printf("  %-24s %16s %20s %19s %9s %6s  (%s)\n", op.title.c_str(),
                  coffer > 0 ? std::to_string(coffer).c_str() : "-",
                  raw > 0 ? std::to_string(raw).c_str() : "-", "-", goal,
                  coffer_error.empty() && raw_error.empty() ? "n/a" : "ERROR",
                  why.c_str());
      continue;
    }
    const double ratio = raw / coffer;
    std::printf("  %-24s %16.1f %20.1f %18.3fx %9s %6s %14.0f %14.0f\n",
                op.title.c_str(), coffer, raw, ratio, goal,
                ratio >= op.goal ? "ok" : "BELOW", 1e9 / coffer, 1e9 / raw);
  }
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------
// Command line.

bool HasFlag(const std::vector<std::string>& args, std::string_view flag) {
  for (const std::string& arg : args) {
    if (arg == flag || (arg.size() > flag.size() && arg.starts_with(flag) &&
                        arg[flag.size()] == '=')) {
      return true;
    }
  }
  return false;
}

// Removes --coffer_secure_heap[=bool] from `args` and returns its value.
bool TakeSecureHeapFlag(std::vector<std::string>& args) {
  constexpr std::string_view kFlag = "--coffer_secure_heap";
  bool value = true;
  for (auto it = args.begin(); it != args.end();) {
    if (*it == kFlag) {
      value = true;
    } else if (it->starts_with(std::string(kFlag) + "=")) {
      const std::string v = it->substr(kFlag.size() + 1);
      value = !(v == "false" || v == "0" || v == "no" || v == "off");
    } else {
      ++it;
      continue;
    }
    it = args.erase(it);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  const bool secure_heap = TakeSecureHeapFlag(args);
  // Defaults, inserted right after argv[0] unless the user set them.
  const std::pair<std::string_view, std::string_view> defaults[] = {
      {"--benchmark_repetitions", "5"},
      {"--benchmark_enable_random_interleaving", "true"},
      {"--benchmark_display_aggregates_only", "true"},
  };
  for (const auto& [flag, value] : defaults) {
    if (!HasFlag(args, flag)) {
      args.insert(args.begin() + 1,
                  std::string(flag) + "=" + std::string(value));
    }
  }
  std::vector<char*> c_args;
  for (std::string& arg : args) c_args.push_back(arg.data());
  c_args.push_back(nullptr);
  int c_argc = static_cast<int>(args.size());
  benchmark::Initialize(&c_argc, c_args.data());
  if (benchmark::ReportUnrecognizedArguments(c_argc, c_args.data())) return 1;

  if (secure_heap) {
    absl::Status s = crypto::InitSecureMemory();
    if (!s.ok()) {
      std::fprintf(stderr, "note: secure heap unavailable (%s)\n",
                   s.ToString().c_str());
    }
  }
  Fixtures fixtures;
  if (absl::Status s = SetUp(fixtures); !s.ok()) {
    std::fprintf(stderr, "setup failed: %s\n", s.ToString().c_str());
    return 1;
  }
  if (CrossCheck(fixtures) != 0) {
    std::fprintf(stderr,
                 "WARNING: coffer and raw results differ; timings below "
                 "compare different work\n");
  }
  RegisterAll(fixtures);

  CollectingReporter reporter(benchmark::ConsoleReporter::OO_None);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintTable(reporter, secure_heap);
  benchmark::Shutdown();
  return 0;
}
