#include "crypto/secret_bytes.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <utility>

namespace coffer::crypto {
namespace {

// How much of OpenSSL's secure heap SecretBytes may take. OpenSSL's own
// secure allocations (private-key numbers of parsed keys, DRBG seed
// buffers) have no fallback: when the heap is full they fail, and a DRBG
// that cannot reseed stops for good. So SecretBytes keeps to half of it
// and spills the rest to the ordinary heap (still cleansed on free).
std::atomic<size_t> secret_heap_budget{0};

uint8_t* AllocateSecret(size_t size) {
  if (size == 0) return nullptr;
  void* p = nullptr;
  const size_t budget = secret_heap_budget.load(std::memory_order_relaxed);
  if (budget != 0 && CRYPTO_secure_used() + size <= budget) {
    p = OPENSSL_secure_malloc(size);
  }
  if (p == nullptr) p = OPENSSL_malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<uint8_t*>(p);
}

void FreeSecret(uint8_t* p, size_t size) {
  if (p == nullptr) return;
  if (CRYPTO_secure_allocated(p)) {
    OPENSSL_secure_clear_free(p, size);
  } else {
    OPENSSL_clear_free(p, size);
  }
}

}  // namespace

SecretBytes::SecretBytes(size_t size)
    : data_(AllocateSecret(size)), size_(size) {
  if (size_ > 0) std::memset(data_, 0, size_);
}

SecretBytes SecretBytes::CopyOf(ByteView bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
  return out;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Release(); }

void SecretBytes::Release() noexcept {
  FreeSecret(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

SecretBytes SecretBytes::Clone() const { return CopyOf(ExposeSecret()); }

void SecretBytes::Truncate(size_t new_size) {
  if (new_size >= size_) return;
  // The tail is cleansed now, so the free path need only cleanse the bytes
  // still in use; the allocation itself is kept.
  OPENSSL_cleanse(data_ + new_size, size_ - new_size);
  size_ = new_size;
}

bool ConstantTimeEquals(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::Status InitSecureMemory(size_t bytes) {
  if (CRYPTO_secure_malloc_initialized()) return absl::OkStatus();
  // 1 = the heap is set up but some pages could not be locked or excluded
  // from dumps; it is still used. 0 = no secure heap at all.
  int rc = CRYPTO_secure_malloc_init(bytes, 32);
  if (rc != 0) secret_heap_budget.store(bytes / 2, std::memory_order_relaxed);
  if (rc == 0) {
    return absl::FailedPreconditionError(
        "could not set up OpenSSL's secure heap (is RLIMIT_MEMLOCK too "
        "small?); secrets fall back to the ordinary heap, still cleansed");
  }
  if (rc == 2) {
    return absl::FailedPreconditionError(
        "OpenSSL's secure heap could not be locked in memory; raise "
        "RLIMIT_MEMLOCK (ulimit -l) to keep secrets out of swap");
  }
  return absl::OkStatus();
}

absl::Status DisableCoreDumps() {
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return absl::InternalError("setrlimit(RLIMIT_CORE, 0) failed");
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError("prctl(PR_SET_DUMPABLE, 0) failed");
  }
  return absl::OkStatus();
}

}  // namespace coffer::crypto
