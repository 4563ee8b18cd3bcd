// Streaming envelope encryption of large objects (archived backups) under a
// region's KMS key. Memory stays flat: one segment of plaintext and one of
// ciphertext at a time, whatever the object's size.
//
// An envelope is a header (magic, version, segment size, a random 7-byte
// nonce prefix, and a fresh AES-256 data key wrapped by Kms::WrapDataKey with
// "coffer.envelope.v1" 0x00 || metadata as aad) followed by the object cut
// into segments of `segment_size` plaintext bytes (the last one shorter, or
// empty), each sealed with AES-256-GCM under the data key:
//   nonce = prefix (7) || segment index (4, big-endian) || last flag (1)
//   aad   = header bytes || metadata
// That is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár) as
// Tink's streaming AEAD uses it: dropping, reordering, duplicating or
// truncating segments, or changing header or metadata, fails authentication.
// Byte layout: docs/archive.md.
//
// The reader releases each segment's plaintext only after that segment has
// verified, but a consumer must still treat the stream as incomplete until
// Finish() returns OK: a truncated envelope is only detected at its end.
//
// Errors: InvalidArgument for bad options or region; DataLoss for anything
// wrong with the envelope bytes (including "truncated", an envelope that ends
// without its last segment) or with the metadata; the KMS's own errors
// (NotFound for an unknown region or key) pass through; a sink's or
// source's error ends the operation and is returned as is. After an error
// an EnvelopeWriter/Reader refuses further calls (FailedPrecondition).
// Not thread-safe per object; distinct objects may run concurrently.
#ifndef COFFER_KMS_ENVELOPE_H_
#define COFFER_KMS_ENVELOPE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "kms/kms.h"

namespace coffer::kms {

// Receives output in chunks (at most one segment each).
using ByteSink = std::function<absl::Status(ByteView chunk)>;
// Returns the next chunk of input, or an empty chunk at the end.
using ChunkSource = std::function<absl::StatusOr<Bytes>()>;

inline constexpr size_t kDefaultSegmentSize = size_t{64} << 10;
inline constexpr size_t kMinSegmentSize = 64;
inline constexpr size_t kMaxSegmentSize = size_t{1} << 20;

struct EnvelopeOptions {
  // Plaintext bytes per segment, kMinSegmentSize..kMaxSegmentSize. Stored in
  // the header, so readers need not know it. Tests use small ones.
  size_t segment_size = kDefaultSegmentSize;
};

class EnvelopeWriter {
 public:
  // Draws a data key and nonce prefix, wraps the key under `region`'s
  // current KMS key and emits the header to `sink`. `kms` must outlive the
  // writer.
  static absl::StatusOr<std::unique_ptr<EnvelopeWriter>> Create(
      Kms& kms, const std::string& region, ByteView metadata, ByteSink sink,
      const EnvelopeOptions& options = {});
  ~EnvelopeWriter();

  // Encrypts more of the object; emits every segment known not to be last.
  absl::Status Write(ByteView plaintext);
  // Emits the last segment. Nothing may be written after it.
  absl::Status Finish();

 private:
  struct State;
  explicit EnvelopeWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class EnvelopeReader {
 public:
  // Decrypts an envelope that must have been written for `region` with the
  // same `metadata`; verified plaintext goes to `sink`. `kms` must outlive
  // the reader.
  EnvelopeReader(Kms& kms, std::string region, ByteView metadata,
                 ByteSink sink);
  ~EnvelopeReader();

  // Accepts more envelope bytes (any chunking).
  absl::Status Feed(ByteView ciphertext);
  // The envelope has ended: verifies and emits the last segment, or returns
  // DataLoss "truncated".
  absl::Status Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Whole-stream helpers over the classes above.
absl::Status EncryptStream(Kms& kms, const std::string& region,
                           ByteView metadata, const ChunkSource& source,
                           const ByteSink& sink,
                           const EnvelopeOptions& options = {});
absl::Status DecryptStream(Kms& kms, const std::string& region,
                           ByteView metadata, const ChunkSource& source,
                           const ByteSink& sink);

// Re-encrypts an envelope for another region (copy of a backup to a
// region), segment by segment, under a fresh data key: the plaintext never
// exists whole. If the source fails to verify at any point the error is
// returned and what reached `sink` is no valid envelope (it lacks its last
// segment), so a caller discards it.
struct ReencryptParams {
  Kms* from_kms = nullptr;
  std::string from_region;
  Bytes from_metadata;
  Kms* to_kms = nullptr;
  std::string to_region;
  Bytes to_metadata;
  EnvelopeOptions options;
};
absl::Status Reencrypt(const ReencryptParams& params, const ChunkSource& source,
                       const ByteSink& sink);

}  // namespace coffer::kms

#endif  // COFFER_KMS_ENVELOPE_H_
