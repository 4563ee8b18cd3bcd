// libFuzzer target for the decoders behind the backup's encryption: the
// TLV codec, every HSM record decoder, and the backup header and record
// plaintext layouts. backup_fuzz rarely reaches them with chosen bytes
// (KWP authenticates each record first), but they also read state-store
// payloads and cluster-log records, so they must hold for any input.
//
// The first input byte picks the decoder; the rest is its input. A decoder
// may refuse anything, but must never crash, leak or read out of bounds,
// and a record it accepts must re-encode to something it accepts again.
#include <cstdint>
#include <cstdlib>

#include "backup/format.h"
#include "base/tlv.h"
#include "hsm/records.h"

namespace coffer {
namespace {

using crypto::SecretBytes;

template <typename T, typename Decode>
void RoundTrip(const SecretBytes& payload, Decode decode) {
  absl::StatusOr<T> record = decode(payload);
  if (!record.ok()) return;
  if (!decode(hsm::Encode(*record)).ok()) std::abort();
}

}  // namespace
}  // namespace coffer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;  // NOLINT: a fuzz entry point
  if (size == 0) return 0;
  const ByteView input(data + 1, size - 1);
  const SecretBytes payload = SecretBytes::CopyOf(input);
  switch (data[0] % 9) {
    case 0:
      (void)TlvReader::Parse(input);
      break;
    case 1:
      RoundTrip<hsm::KeyObject>(payload, hsm::DecodeKey);
      break;
    case 2:
      RoundTrip<hsm::UserRecord>(payload, hsm::DecodeUser);
      break;
    case 3:
      RoundTrip<hsm::ClusterRecord>(payload, hsm::DecodeCluster);
      break;
    case 4:
      RoundTrip<hsm::PolicyRecord>(payload, hsm::DecodePolicy);
      break;
    case 5:
      RoundTrip<hsm::DeviceRecord>(payload, hsm::DecodeDevice);
      break;
    case 6:
      RoundTrip<hsm::CommissionRecord>(payload, hsm::DecodeCommission);
      break;
    case 7: {
      absl::StatusOr<backup::BackupHeader> header =
          backup::DecodeHeaderBody(input);
      if (header.ok() &&
          !backup::DecodeHeaderBody(backup::EncodeHeaderBody(*header)).ok()) {
        std::abort();
      }
      break;
    }
    default:
      (void)backup::DecodeRecordPlaintext(input);
      break;
  }
  return 0;
}
