// The backup byte format, version 1 (docs/backup-format.md specifies every
// byte). A backup is a stream:
//
//   preamble  "COFFERBK" || u16 format version
//   frame*    u8 type || u32 length || body          (big-endian)
//     HEADER    TLV of the public facts (BackupHeader), once, first
//     RECORD    KWP(EBK, u8 kind || u16 id length || id || payload), in order
//     SEAL      KWP(EBK, u64 record count || SHA-384(preamble..last RECORD))
//     SIGNATURE ECDSA-SHA-384 by the device key over preamble..SEAL, last
//
// Nothing here holds a secret: these are the encodings both the HSM side
// (writer, restore) and the secret-free verifier share.
#ifndef COFFER_BACKUP_FORMAT_H_
#define COFFER_BACKUP_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "hsm/hsm_backup.h"

namespace coffer::backup {

inline constexpr char kMagic[] = "COFFERBK";  // 8 bytes, no terminator
inline constexpr size_t kMagicSize = 8;
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr size_t kPreambleSize = kMagicSize + 2;
inline constexpr size_t kFrameHeaderSize = 5;
inline constexpr size_t kBackupIdSize = 16;
inline constexpr size_t kDigestSize = 48;  // SHA-384
// Largest frame body a reader accepts: a record of the state store's
// largest payload, wrapped, plus its kind and id.
inline constexpr size_t kMaxFrameBody = (size_t{16} << 20) + 2048;

enum class FrameType : uint8_t {
  kHeader = 1,
  kRecord = 2,
  kSeal = 3,
  kSignature = 4,
};

struct BackupHeader {
  uint16_t format_version = kFormatVersion;
  Bytes backup_id;  // 16 random bytes
  hsm::BackupOrigin origin;
  int64_t created_at = 0;  // Unix seconds
  hsm::BackupCounts counts;
  Bytes wrapped_ebk;  // KW(PBK, EBK), 40 bytes
};

// The preamble for kFormatVersion.
Bytes EncodePreamble();
// InvalidArgument "not a Coffer backup" for a wrong magic; Unimplemented
// naming the version for a format this build does not read.
absl::Status CheckPreamble(ByteView preamble);

Bytes EncodeHeaderBody(const BackupHeader& header);
// InvalidArgument naming the field for a malformed or incomplete header.
absl::StatusOr<BackupHeader> DecodeHeaderBody(ByteView body);

// u8 type || u32 length.
void AppendFrameHeader(FrameType type, size_t body_size, Bytes& out);

// The plaintext of one RECORD: u8 kind code || u16 id length || id ||
// payload. Kind codes: 1 cluster, 2 policy, 3 user, 4 key object.
struct RecordView {
  std::string_view kind;  // hsm/records.h names
  std::string_view id;
  ByteView payload;
};
absl::StatusOr<crypto::SecretBytes> EncodeRecordPlaintext(
    std::string_view kind, std::string_view id,
    const crypto::SecretBytes& payload);
// InvalidArgument for an unknown kind code or a short record. The views
// point into `plaintext`.
absl::StatusOr<RecordView> DecodeRecordPlaintext(ByteView plaintext);

// SEAL plaintext: u64 record count || transcript digest (48 bytes).
Bytes EncodeSealPlaintext(uint64_t records, ByteView digest);

std::string_view ModeName(hsm::Mode mode);

}  // namespace coffer::backup

#endif  // COFFER_BACKUP_FORMAT_H_
