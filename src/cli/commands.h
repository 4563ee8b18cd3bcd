// The handlers the command table (command_table.cc) dispatches to, one
// file per family, and the few helpers they share. Internal to src/cli.
#ifndef COFFER_CLI_COMMANDS_H_
#define COFFER_CLI_COMMANDS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "cli/command_table.h"
#include "cli/names.h"

namespace coffer::cli {

// factory_commands.cc: offline development provisioning (INSECURE).
absl::Status FactoryInit(Context& ctx);
absl::Status FactoryManufacture(Context& ctx);
absl::Status CaInit(Context& ctx);
absl::Status CaIssue(Context& ctx);
absl::Status CaSignCsr(Context& ctx);
absl::Status CeremonyAkbk(Context& ctx);

// hsm_commands.cc: lifecycle and sessions.
absl::Status HsmInfo(Context& ctx);
absl::Status HsmCommission(Context& ctx);
absl::Status HsmAddComponent(Context& ctx);
absl::Status HsmClusterCsr(Context& ctx);
absl::Status HsmInstallClusterCert(Context& ctx);
absl::Status HsmActivate(Context& ctx);
absl::Status Login(Context& ctx);
absl::Status Logout(Context& ctx);

// backup_commands.cc: backup files (local) and backups through an HSM.
absl::Status BackupVerify(Context& ctx);
absl::Status BackupInspect(Context& ctx);
absl::Status HsmBackup(Context& ctx);
absl::Status HsmRestore(Context& ctx);

// manager_commands.cc: the control plane (coffer-manager over gRPC).
absl::Status ClusterCreate(Context& ctx);
absl::Status ClusterList(Context& ctx);
absl::Status ClusterDescribe(Context& ctx);
absl::Status ClusterModify(Context& ctx);
absl::Status ClusterDelete(Context& ctx);
absl::Status BackupList(Context& ctx);
absl::Status BackupDelete(Context& ctx);
absl::Status BackupRestore(Context& ctx);
absl::Status BackupModify(Context& ctx);
absl::Status TagAdd(Context& ctx);
absl::Status TagRemove(Context& ctx);
absl::Status TagList(Context& ctx);

// cluster_hsm_commands.cc: the manager working on HSMs.
absl::Status HsmCreate(Context& ctx);
absl::Status HsmDelete(Context& ctx);
absl::Status HsmList(Context& ctx);
absl::Status ClusterInitialize(Context& ctx);
absl::Status ClusterActivate(Context& ctx);
absl::Status BackupCreate(Context& ctx);
absl::Status BackupCopyToRegion(Context& ctx);

// user_commands.cc
absl::Status UserCreate(Context& ctx);
absl::Status UserDelete(Context& ctx);
absl::Status UserList(Context& ctx);
absl::Status UserChangePassword(Context& ctx);
absl::Status UserUnlock(Context& ctx);
absl::Status UserSetLockout(Context& ctx);

// key_commands.cc
absl::Status KeyGenerateSymmetric(Context& ctx);
absl::Status KeyGenerateAsymmetric(Context& ctx);
absl::Status KeyList(Context& ctx);
absl::Status KeyAttributes(Context& ctx);
absl::Status KeySetAttribute(Context& ctx);
absl::Status KeyShare(Context& ctx);
absl::Status KeyUnshare(Context& ctx);
absl::Status KeyDelete(Context& ctx);
absl::Status KeyWrap(Context& ctx);
absl::Status KeyUnwrap(Context& ctx);

absl::Status KeyImportCertificate(Context& ctx);

// quorum_commands.cc
absl::Status QuorumKeygen(Context& ctx);
absl::Status QuorumRegisterKey(Context& ctx);
absl::Status QuorumSet(Context& ctx);
absl::Status QuorumList(Context& ctx);
absl::Status QuorumTokenCreate(Context& ctx);
absl::Status QuorumTokenApprove(Context& ctx);

// crypto_commands.cc
absl::Status CryptoSign(Context& ctx);
absl::Status CryptoVerify(Context& ctx);
absl::Status CryptoEncrypt(Context& ctx);
absl::Status CryptoDecrypt(Context& ctx);

// dev_hsm.cc
absl::Status DevHsmUp(Context& ctx);
absl::Status DevHsmDown(Context& ctx);

// local_cluster.cc: `coffer up|down`, a whole local cluster (INSECURE).
absl::Status Up(Context& ctx);
absl::Status Down(Context& ctx);

// --- shared helpers ---------------------------------------------------
// The key named by `handle_flag` (a handle) or `label_flag` (a label;
// among the keys with that label, the one whose class fits `use` for
// `private_side`: sign/decrypt/unwrap use the private key or a secret key).
absl::StatusOr<uint64_t> ResolveKey(Connection& conn, const Args& args,
                                    const std::string& handle_flag,
                                    const std::string& label_flag,
                                    bool private_side);
// For destructive commands: OK with --force, else asks on a terminal;
// UsageError in a pipe without --force.
absl::Status Confirm(const Args& args, const std::string& question);

}  // namespace coffer::cli

#endif  // COFFER_CLI_COMMANDS_H_
