// The object store the manager archives backup envelopes in: an S3-like
// flat namespace of immutable, whole-object writes, streamed both ways.
//
// Keys: 1..512 bytes of [A-Za-z0-9._/-], not starting or ending with "/",
// no empty path component, no "." component and no ".." anywhere (keys
// become paths in the local store). Other keys are InvalidArgument.
//
// Errors, for every implementation:
//   InvalidArgument  a bad key (or List prefix with characters a key cannot
//                    hold).
//   NotFound         Get/Delete/Stat of a missing key.
//   DataLoss         a stored object whose checksum or framing is wrong.
//   other codes      I/O failures; a failed Put leaves the old object (or
//                    none) in place; a source's or sink's error is returned
//                    as is.
// Implementations are thread-safe.
#ifndef COFFER_ARCHIVE_OBJECT_STORE_H_
#define COFFER_ARCHIVE_OBJECT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"

namespace coffer::archive {

// Returns the next chunk of the object, or an empty chunk at the end.
using ChunkSource = std::function<absl::StatusOr<Bytes>()>;
// Receives the object in chunks.
using ByteSink = std::function<absl::Status(ByteView chunk)>;

inline constexpr size_t kMaxKeySize = 512;

absl::Status ValidateObjectKey(std::string_view key);

struct ObjectInfo {
  uint64_t size = 0;
  std::string sha256_hex;  // of the content, lower-case
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Stores everything `source` yields under `key`, replacing any object
  // there. Atomic: readers see the old object or the whole new one, never a
  // part, also across a crash. Durable once it returns OK.
  virtual absl::Status Put(const std::string& key,
                           const ChunkSource& source) = 0;

  // Streams the object to `sink` in chunks of at most 64 KiB and verifies
  // its checksum at the end: DataLoss then, after the bytes went out. A
  // caller must not act on the streamed bytes before Get returns OK
  // (envelopes authenticate each segment anyway). A concurrent Put or
  // Delete does not disturb a Get already under way.
  virtual absl::Status Get(const std::string& key, const ByteSink& sink) = 0;

  virtual absl::Status Delete(const std::string& key) = 0;

  // Keys that start with `prefix` (any string; "" lists all), sorted.
  virtual absl::StatusOr<std::vector<std::string>> List(
      const std::string& prefix) = 0;

  // Size and checksum as recorded at Put (not re-verified; Get does that).
  virtual absl::StatusOr<ObjectInfo> Stat(const std::string& key) = 0;
};

// The embedded default: one file per object under `root` (created, mode
// 0700), "/" in keys making subdirectories. An object file is the content
// followed by a 48-byte trailer holding its size and SHA-256
// (docs/archive.md); Put writes it to a temp file in the same directory,
// fsyncs, renames over the old file and fsyncs the directory, so content
// and checksum change together in one rename. Temp files a crash left
// behind are invisible to List and removed on open. One process owns
// `root` at a time (flock on "<root>/.lock"; FailedPrecondition otherwise).
absl::StatusOr<std::unique_ptr<ObjectStore>> OpenLocalDirectoryStore(
    const std::string& root);

}  // namespace coffer::archive

#endif  // COFFER_ARCHIVE_OBJECT_STORE_H_
