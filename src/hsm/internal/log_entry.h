// The bytes of one cluster-log entry (docs/log.md "Sealed entries"): the
// record writes of one mutation, sealed with AES-256-GCM under the cluster
// sync key, bound to the log's cluster and the entry's position.
#ifndef COFFER_HSM_INTERNAL_LOG_ENTRY_H_
#define COFFER_HSM_INTERNAL_LOG_ENTRY_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secret_bytes.h"
#include "store/sealed_store.h"

namespace coffer::hsm::internal {

// `cluster_id` is the id inside the HSMs (ClusterRecord), which every HSM
// of the cluster shares through backups.
absl::StatusOr<Bytes> SealLogEntry(
    const crypto::SecretBytes& sync_key, std::string_view cluster_id,
    uint64_t position, const std::vector<store::RecordWrite>& writes);

// DataLoss if the entry does not authenticate for this cluster and
// position, or its content is malformed.
absl::StatusOr<std::vector<store::RecordWrite>> OpenLogEntry(
    const crypto::SecretBytes& sync_key, std::string_view cluster_id,
    uint64_t position, ByteView sealed);

}  // namespace coffer::hsm::internal

#endif  // COFFER_HSM_INTERNAL_LOG_ENTRY_H_
