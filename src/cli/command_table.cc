#include "cli/command_table.h"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/secrets.h"

namespace coffer::cli {
namespace {

constexpr char kExitPayload[] = "type.coffer.dev/cli.exit_code";
constexpr Flag::Kind kSwitch = Flag::kSwitch;
constexpr Flag::Kind kList = Flag::kList;

std::vector<Flag> Join(std::initializer_list<std::vector<Flag>> parts) {
  std::vector<Flag> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

Flag Required(std::string name, std::string help) {
  return {std::move(name), std::move(help), Flag::kValue, true};
}
Flag Choice(std::string name, std::string help, std::vector<std::string> c,
            const char* def = nullptr) {
  return {std::move(name), std::move(help), Flag::kValue,
          def == nullptr,  std::move(c),    def};
}

// A key named by handle or by label (one of them).
std::vector<Flag> KeyRef(const char* role = "the key") {
  return {
      {"--handle", absl::StrCat("handle of ", role)},
      {"--label", absl::StrCat("label of ", role, " (instead of --handle)")}};
}

std::vector<Flag> KeySpec() {
  return {
      {"--label", "CKA_LABEL of the new key"},
      {"--id", "CKA_ID of the new key, hex"},
      {"--usage",
       "comma list of encrypt,decrypt,sign,verify,wrap,unwrap,"
       "derive (default: by key type)"},
      {"--session",
       "a session object (gone at logout) instead of a token "
       "object",
       kSwitch},
      {"--extractable", "may be wrapped out (CKA_EXTRACTABLE)", kSwitch},
      {"--wrap-with-trusted", "may be wrapped only by a trusted key", kSwitch},
  };
}

std::vector<Flag> DataIo() {
  return {{"--in", "input file (default: stdin)"},
          {"--out", "output file (default: stdout)"}};
}

const char kInsecure[] = "DEVELOPMENT ONLY, INSECURE: ";

// The table. One row per command, in help order; a row without a handler
// only describes its noun. (A long function, but data, not logic.)
// clang-format off
std::vector<Command> BuildTable() {
  const std::vector<std::string> sym_types = {"aes", "generic-secret"};
  const std::vector<std::string> asym_types = {"ec-p256", "ec-p384", "rsa",
                                               "ed25519"};
  const std::vector<std::string> modes = {"fips", "non-fips"};
  const std::vector<std::string> sign = MechanismNames(MechanismUse::kSign);
  const std::vector<std::string> enc = MechanismNames(MechanismUse::kEncrypt);
  const std::vector<std::string> wrap = MechanismNames(MechanismUse::kWrap);
  const std::vector<std::string> cluster_states = {
      "CREATE_IN_PROGRESS", "UNINITIALIZED", "INITIALIZE_IN_PROGRESS",
      "INITIALIZED", "ACTIVE", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS",
      "DELETED", "DEGRADED"};
  const std::vector<std::string> backup_states = {
      "CREATE_IN_PROGRESS", "READY", "PENDING_DELETION", "DELETED"};
  const std::vector<std::string> quorum_services = {
      "user-management", "quorum-changes", "key-use"};
  return {
    // Offline development provisioning.
    {"factory", "", "the manufacturer's factory (a development stand-in)",
     {}, nullptr},
    {"factory", "init",
     absl::StrCat(kInsecure,
                  "create a factory (MKBK and device CA in plain files)"),
     {Required("--dir", "directory to create"),
      Required("--manufacturer-id", "manufacturer id, e.g. acme")},
     FactoryInit},
    {"factory", "manufacture",
     absl::StrCat(kInsecure, "manufacture an HSM into a data directory"),
     {Required("--factory", "factory directory"),
      Required("--data-dir", "the new HSM's data directory"),
      Required("--serial", "serial number"),
      {"--firmware", "firmware version", Flag::kValue, false, {}, "0.1.0"}},
     FactoryManufacture},
    {"ca", "", "development certificate authorities (customer, service)",
     {}, nullptr},
    {"ca", "init",
     absl::StrCat(kInsecure, "create a CA (key in a plain file)"),
     {Required("--dir", "directory to create"),
      Required("--name", "the CA's common name"),
      {"--organization", "the CA's organization"}},
     CaInit},
    {"ca", "issue",
     absl::StrCat(kInsecure, "issue a TLS client or server certificate"),
     {Required("--dir", "CA directory"),
      Required("--name", "common name"),
      {"--client", "a TLS client certificate", kSwitch},
      {"--server", "a TLS server certificate (localhost, 127.0.0.1)",
       kSwitch},
      Required("--out", "writes OUT.pem and OUT.key (mode 0600)")},
     CaIssue},
    {"ca", "sign-csr",
     absl::StrCat(kInsecure,
                  "sign an HSM's cluster CSR as the cluster CA certificate"),
     {Required("--dir", "CA directory (the customer's)"),
      Required("--csr", "CSR file from `coffer hsm cluster-csr`"),
      Required("--out", "certificate file to write")},
     CaSignCsr},
    {"ceremony", "", "offline key ceremonies", {}, nullptr},
    {"ceremony", "akbk",
     absl::StrCat(kInsecure,
                  "generate an AKBK as key components with their KCVs"),
     {Choice("--components", "number of components (2-9)", {}, "2"),
      Required("--out-dir",
               "directory for component-K.key/.kcv and combined.kcv")},
     CeremonyAkbk},

    // Lifecycle.
    {"hsm-info", "", "serial, firmware, mode, state and load of the HSM",
     {}, HsmInfo},
    {"hsm", "",
     "HSMs of a cluster, through the manager (create, delete, list), and "
     "one HSM's lifecycle over its own API (commission, cluster identity, "
     "activate, backup, restore)",
     {}, nullptr},
    {"hsm", "create",
     "add an HSM to a cluster (manager; returns once it is ACTIVE)",
     {Required("--cluster", "cluster id"),
      {"--availability-zone", "placement hint for the manager's provider"}},
     HsmCreate},
    {"hsm", "delete", "remove an HSM from its cluster (manager, DESTRUCTIVE)",
     {Required("--cluster", "cluster id"), Required("HSM_ID", "HSM id"),
      {"--force", "do not ask", kSwitch}},
     HsmDelete},
    {"hsm", "list", "HSMs of every cluster, or of one (manager)",
     {{"--cluster", "only this cluster's HSMs"},
      {"--all", "also DELETED HSMs", kSwitch}},
     HsmList},
    {"hsm", "commission",
     "begin commissioning: fix the mode and the AKBK ceremony",
     {Choice("--mode", "fips or non-fips; never changes afterwards", modes),
      Required("--components", "number of AKBK components (2-9)"),
      Required("--combined-kcv", "KCV of the combined AKBK"),
      Required("--service-ca", "PEM file of the service's CA")},
     HsmCommission},
    {"hsm", "add-component", "give one custodian's AKBK component",
     Join({{Required("--custodian", "the custodian's name"),
            Required("--kcv", "the component's KCV")},
           SecretFlags("component")}),
     HsmAddComponent},
    {"hsm", "cluster-csr", "make the cluster key pair and its CSR",
     {Required("--cluster-id", "the cluster's id"),
      {"--out", "CSR file (default: stdout)"}},
     HsmClusterCsr},
    {"hsm", "install-cluster-cert", "install the signed cluster certificate",
     {Required("--cert", "cluster certificate PEM"),
      Required("--anchor", "the customer's CA certificate PEM")},
     HsmInstallClusterCert},
    {"hsm", "activate", "set the initial admin's password (user admin)",
     SecretFlags("password"),
     HsmActivate},
    {"hsm", "backup",
     "stream a backup of the HSM to a file (admin or appliance user)",
     {Required("--out", "backup file to write (atomically, mode 0600)")},
     HsmBackup},
    {"hsm", "restore",
     "replace every user and key with a backup's (DESTRUCTIVE; admin, or "
     "any service client while COMMISSIONED or TAMPERED)",
     {Required("--in", "backup file"), {"--force", "do not ask", kSwitch}},
     HsmRestore},
    {"backup", "",
     "backup files (verify, inspect: no HSM, no secret) and the backups "
     "the manager keeps (list, create, copy-to-region, delete, restore, "
     "modify)",
     {}, nullptr},
    {"backup", "verify",
     "check a backup's structure and signature (exit 1 if invalid)",
     {Required("FILE", "the backup file"),
      {"--manufacturer-ca", "PEM CA the source HSM's device certificate "
                            "must chain to"}},
     BackupVerify},
    {"backup", "inspect", "show a backup's metadata (and check it)",
     {Required("FILE", "the backup file")},
     BackupInspect},
    {"backup", "list", "the manager's backups (every page)",
     {{"--cluster", "only backups of this cluster"},
      {"--state", "only backups in these states", kList, false,
       backup_states},
      {"--never-expires", "only backups kept past the retention period",
       kSwitch},
      Choice("--sort", "by creation time", {"asc", "desc"}, "asc")},
     BackupList},
    {"backup", "delete",
     "delete a backup (PENDING_DELETION: `backup restore` cancels it)",
     {Required("ID", "backup id")},
     BackupDelete},
    {"backup", "restore", "cancel a backup's pending deletion",
     {Required("ID", "backup id")},
     BackupRestore},
    {"backup", "modify", "keep a backup past its cluster's retention, or not",
     {Required("ID", "backup id"),
      Choice("--never-expires", "true or false", {"true", "false"})},
     BackupModify},
    {"backup", "create", "back a cluster up now (manager)",
     {Required("--cluster", "cluster id"),
      {"--tag", "KEY=VALUE tags for the backup", kList}},
     BackupCreate},
    {"backup", "copy-to-region",
     "copy a READY backup into another region's archive (manager)",
     {Required("BACKUP_ID", "backup id"),
      Required("--region", "destination region"),
      {"--tag", "KEY=VALUE tags for the copy", kList}},
     BackupCopyToRegion},

    // The control plane (coffer-manager, --manager).
    {"cluster", "", "clusters, through the manager (--manager)", {}, nullptr},
    {"cluster", "create", "create a cluster (UNINITIALIZED, no HSMs yet)",
     {Required("--region", "region, [a-z0-9-]{1,32}"),
      {"--mode", "fips or non-fips; never changes (default: the source "
                 "backup's)", Flag::kValue, false, modes},
      {"--retention-days", "days backups are kept, 7-379 (default 90)"},
      {"--source-backup", "a READY backup in the same region to start from"},
      {"--tag", "KEY=VALUE tags", kList}},
     ClusterCreate},
    {"cluster", "list", "clusters (every page), oldest first",
     {{"--state", "only clusters in these states", kList, false,
       cluster_states}},
     ClusterList},
    {"cluster", "describe", "one cluster with its HSMs, certificates, tags",
     {Required("ID", "cluster id")},
     ClusterDescribe},
    {"cluster", "modify", "change a cluster's backup retention",
     {Required("ID", "cluster id"),
      Required("--retention-days", "7-379")},
     ClusterModify},
    {"cluster", "delete", "delete a cluster without HSMs (DESTRUCTIVE)",
     {Required("ID", "cluster id"), {"--force", "do not ask", kSwitch}},
     ClusterDelete},
    {"cluster", "initialize",
     "sign the cluster's CSR (or give the signed certificate) and install "
     "it into its first HSM",
     {Required("ID", "cluster id"),
      {"--signing-ca", "a CA directory (ca.pem, ca.key) to sign the CSR "
                       "with; its certificate becomes the trust anchor"},
      {"--cert", "the signed cluster certificate (PEM), instead of "
                 "--signing-ca"},
      {"--trust-anchor", "the CA certificate (PEM) that signed --cert"}},
     ClusterInitialize},
    {"cluster", "activate",
     "set the admin password on an INITIALIZED cluster's HSM, then wait "
     "until the manager reports it ACTIVE",
     Join({{Required("ID", "cluster id")}, SecretFlags("password")}),
     ClusterActivate},
    {"tag", "", "tags of clusters and backups, through the manager",
     {}, nullptr},
    {"tag", "add", "add tags, or replace the values of existing keys",
     {Required("RESOURCE", "a cluster or backup id"),
      {"TAGS", "KEY=VALUE ...", kList, true}},
     TagAdd},
    {"tag", "remove", "remove tags by key (absent keys are ignored)",
     {Required("RESOURCE", "a cluster or backup id"),
      {"KEYS", "KEY ...", kList, true}},
     TagRemove},
    {"tag", "list", "a resource's tags, sorted by key",
     {Required("RESOURCE", "a cluster or backup id")},
     TagList},

    // Sessions and users.
    {"login", "", "log in; the session is kept in the session file",
     Join({{{"--user", "user name"},
            {"--credentials-file", "FILE whose first line is user:password"}},
           SecretFlags("password")}),
     Login},
    {"logout", "", "end the session and remove the session file",
     {}, Logout},
    {"user", "", "users (admins manage them)", {}, nullptr},
    {"user", "create", "create a user",
     Join({{Required("--name", "user name"),
            Choice("--role", "role", RoleNames(), "crypto-user")},
           SecretFlags("password")}),
     UserCreate},
    {"user", "delete", "delete a user",
     {Required("--name", "user name"), {"--force", "do not ask", kSwitch}},
     UserDelete},
    {"user", "list", "list users", {}, UserList},
    {"user", "change-password", "change a password (yours by default)",
     Join({{{"--name", "user name (default: the logged-in user)"}},
           SecretFlags("password")}),
     UserChangePassword},
    {"user", "unlock", "unlock a user locked after failed logins",
     {Required("--name", "user name")},
     UserUnlock},
    {"user", "set-lockout", "wrong passwords allowed before a lockout (admin)",
     {Required("--max-failed-logins", "1 to 100 (default policy: 5)")},
     UserSetLockout},

    // Keys.
    {"key", "", "keys (crypto users create and use them)", {}, nullptr},
    {"key", "generate-symmetric", "generate an AES or generic secret key",
     Join({{Choice("--type", "key type", sym_types, "aes"),
            {"--bits", "key size (AES: 128/192/256; generic: 64-4096)",
             Flag::kValue, false, {}, "256"}},
           KeySpec()}),
     KeyGenerateSymmetric},
    {"key", "generate-asymmetric", "generate a key pair",
     Join({{Choice("--type", "key type", asym_types),
            {"--bits", "RSA modulus size", Flag::kValue, false, {}, "2048"}},
           KeySpec()}),
     KeyGenerateAsymmetric},
    {"key", "list", "list keys you may see",
     {{"--label", "only keys with this label"},
      {"--type", "only keys of this type"}},
     KeyList},
    {"key", "attributes", "all attributes of a key (never its material)",
     KeyRef(),
     KeyAttributes},
    {"key", "set-attribute", "change one attribute",
     Join({KeyRef(),
           {Required("--name", "label, id, or a boolean attribute "
                               "(sensitive, extractable, encrypt, ..., "
                               "trusted)"),
            Required("--value", "the new value (true/false for booleans)")}}),
     KeySetAttribute},
    {"key", "share", "let another crypto user use a key you own",
     Join({KeyRef(), {Required("--user", "the crypto user")}}),
     KeyShare},
    {"key", "unshare", "stop sharing a key",
     Join({KeyRef(), {Required("--user", "the crypto user")}}),
     KeyUnshare},
    {"key", "delete", "destroy a key you own",
     Join({KeyRef(), {{"--force", "do not ask", kSwitch}}}),
     KeyDelete},
    {"key", "import-certificate", "store an X.509 certificate (PEM) in the HSM",
     {{"--in", "PEM file (default: stdin)"},
      {"--label", "label"},
      {"--session", "a session object (gone at logout)", kSwitch}},
     KeyImportCertificate},
    {"quorum", "", "M of N admin approval (pass tokens in $COFFER_QUORUM_TOKEN)",
     {}, nullptr},
    {"quorum", "keygen", "make an approval key pair locally (EC P-256)",
     {Required("--out", "file prefix: PREFIX.key, PREFIX.pub.pem")},
     QuorumKeygen},
    {"quorum", "register-key", "register your approval public key (admins)",
     {Required("--public-key", "PEM public key file")}, QuorumRegisterKey},
    {"quorum", "set", "set M for a service (admins)",
     {Choice("--service", "service", quorum_services, "user-management"),
      Required("--m", "approvals needed (1 = off)")},
     QuorumSet},
    {"quorum", "list", "show M per service and the open tokens", {},
     QuorumList},
    {"quorum", "token-create", "open a token for one operation",
     {Choice("--service", "service", quorum_services, "user-management")},
     QuorumTokenCreate},
    {"quorum", "token-approve", "approve a token with your private key",
     {Required("--token", "token id"), Required("--admin", "your admin name"),
      Required("--key-file", "your approval private key (PEM)")},
     QuorumTokenApprove},
    {"key", "wrap", "wrap (export) an extractable key under a wrapping key",
     Join({KeyRef("the key to wrap"),
           {Required("--wrapping-handle", "handle of the wrapping key"),
            Choice("--mechanism", "wrapping mechanism", wrap, "aes-kwp"),
            {"--out", "output file (default: stdout)"}}}),
     KeyWrap},
    {"key", "unwrap", "unwrap (import) a wrapped key",
     Join({{Required("--unwrapping-handle", "handle of the unwrapping key"),
            Choice("--mechanism", "wrapping mechanism", wrap, "aes-kwp"),
            Choice("--type", "type of the wrapped key", KeyTypeNames()),
            {"--in", "wrapped key file (default: stdin)"}},
           KeySpec()}),
     KeyUnwrap},

    // Cryptographic operations.
    {"crypto", "", "cryptographic operations with keys in the HSM",
     {}, nullptr},
    {"crypto", "sign", "sign data (raw signature bytes out)",
     Join({KeyRef(), {Choice("--mechanism", "signature mechanism", sign)},
           DataIo()}),
     CryptoSign},
    {"crypto", "verify", "verify a signature (exit 0 valid, 1 invalid)",
     Join({KeyRef(),
           {Choice("--mechanism", "signature mechanism", sign),
            Required("--signature", "signature file"),
            {"--in", "signed data file (default: stdin)"}}}),
     CryptoVerify},
    {"crypto", "encrypt", "encrypt (AES: out = iv || ciphertext [|| tag])",
     Join({KeyRef(),
           {Choice("--mechanism", "encryption mechanism", enc),
            {"--aad-file", "AES-GCM associated data"}},
           DataIo()}),
     CryptoEncrypt},
    {"crypto", "decrypt", "decrypt what `crypto encrypt` wrote",
     Join({KeyRef(),
           {Choice("--mechanism", "encryption mechanism", enc),
            {"--aad-file", "AES-GCM associated data"}},
           DataIo()}),
     CryptoDecrypt},

    // Development.
    {"dev-hsm", "", "a standalone development HSM in one command (INSECURE)",
     {}, nullptr},
    {"dev-hsm", "up",
     absl::StrCat(kInsecure,
                  "create (or restart) a complete local HSM with generated "
                  "development secrets"),
     {Required("--dir", "directory for everything it makes"),
      Choice("--mode", "HSM mode", modes, "non-fips"),
      {"--port", "TCP port on 127.0.0.1 (default: any free port)"}},
     DevHsmUp},
    {"dev-hsm", "down", "stop the development HSM started by `dev-hsm up`",
     {Required("--dir", "the dev-hsm directory")},
     DevHsmDown},
    {"up", "",
     absl::StrCat(kInsecure,
                  "start a complete local cluster (coffer-manager and its "
                  "HSMs) with generated development secrets"),
     {Required("--dir", "directory for everything it makes"),
      {"--hsms", "number of HSMs", Flag::kValue, false, {}, "2"},
      {"--region", "the cluster's region", Flag::kValue, false, {}, "local"},
      Choice("--mode", "cluster mode", modes, "non-fips"),
      {"--health-interval", "seconds between the manager's health checks",
       Flag::kValue, false, {}, "2"},
      {"--backup-interval", "seconds between scheduled backups",
       Flag::kValue, false, {}, "86400"},
      {"--fresh", "wipe a --dir an earlier `coffer up` left (stopped) first",
       kSwitch}},
     Up},
    {"down", "", "stop the local cluster `coffer up` started (files stay)",
     {Required("--dir", "the `coffer up` directory")},
     Down},
  };
}
// clang-format on

}  // namespace

absl::Status WithExitCode(absl::Status status, ExitCode code) {
  status.SetPayload(kExitPayload, absl::Cord(absl::StrCat(int{code})));
  return status;
}

absl::Status UsageError(const std::string& message) {
  return WithExitCode(absl::InvalidArgumentError(message), kExitUsage);
}

ExitCode ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  absl::optional<absl::Cord> payload = status.GetPayload(kExitPayload);
  int code = 0;
  if (payload && absl::SimpleAtoi(std::string(*payload), &code) && code > 0 &&
      code <= kExitUnreachable) {
    return static_cast<ExitCode>(code);
  }
  return kExitRefused;
}

std::string Args::Get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (auto it = defaults_.find(name); it != defaults_.end()) return it->second;
  return "";
}

absl::StatusOr<uint64_t> Args::GetUint(const std::string& name) const {
  uint64_t value = 0;
  if (!absl::SimpleAtoi(Get(name), &value)) {
    return UsageError(
        absl::StrCat(name, " must be a number, not '", Get(name), "'"));
  }
  return value;
}

const std::vector<Command>& CommandTable() {
  static const auto* table = new std::vector<Command>(BuildTable());
  return *table;
}

}  // namespace coffer::cli
