// An allocator that wipes memory before returning it, for the scratch
// buffers in which secrets are assembled (TLV encodings of records that hold
// keys). Long-lived secrets belong in crypto::SecretBytes instead.
#ifndef COFFER_BASE_ZEROIZING_ALLOCATOR_H_
#define COFFER_BASE_ZEROIZING_ALLOCATOR_H_

#include <string.h>  // explicit_bzero: not optimised away

#include <cstdint>
#include <memory>
#include <vector>

namespace coffer {

template <typename T>
struct ZeroizingAllocator {
  using value_type = T;
  ZeroizingAllocator() noexcept = default;
  template <typename U>
  ZeroizingAllocator(const ZeroizingAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) noexcept {
    explicit_bzero(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const ZeroizingAllocator<U>&) const noexcept {
    return true;
  }
};

// Growable byte buffer whose every old and final allocation is wiped.
using ZeroizingBuffer = std::vector<uint8_t, ZeroizingAllocator<uint8_t>>;

}  // namespace coffer

#endif  // COFFER_BASE_ZEROIZING_ALLOCATOR_H_
