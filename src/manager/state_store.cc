// StateStore over one SQLite file. Schema: docs/manager.md.
#include "manager/state_store.h"

#include <map>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "sqlite/sqlite_db.h"

namespace coffer::manager {
namespace {

constexpr int64_t kSchemaVersion = 1;
constexpr int64_t kApplicationId = 0x43464d47;  // "CFMG"

constexpr const char* kSchema = R"sql(
CREATE TABLE clusters(
  id TEXT PRIMARY KEY, region TEXT NOT NULL, mode INTEGER NOT NULL,
  state INTEGER NOT NULL, state_message TEXT NOT NULL,
  retention_days INTEGER NOT NULL, source_backup_id TEXT NOT NULL,
  create_time INTEGER NOT NULL, csr_pem TEXT NOT NULL,
  certificate_pem TEXT NOT NULL, trust_anchor_pem TEXT NOT NULL) STRICT;
CREATE TABLE hsms(
  id TEXT PRIMARY KEY, cluster_id TEXT NOT NULL REFERENCES clusters(id),
  state INTEGER NOT NULL, state_message TEXT NOT NULL,
  endpoint TEXT NOT NULL, availability_zone TEXT NOT NULL,
  create_time INTEGER NOT NULL) STRICT;
CREATE TABLE backups(
  id TEXT PRIMARY KEY, cluster_id TEXT NOT NULL REFERENCES clusters(id),
  region TEXT NOT NULL, state INTEGER NOT NULL, mode INTEGER NOT NULL,
  create_time INTEGER NOT NULL, delete_time INTEGER NOT NULL,
  never_expires INTEGER NOT NULL, source_backup_id TEXT NOT NULL,
  source_region TEXT NOT NULL, source_cluster_id TEXT NOT NULL,
  copy_time INTEGER NOT NULL) STRICT;
CREATE TABLE tags(
  resource_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(resource_id, key)) STRICT, WITHOUT ROWID;
)sql";

constexpr const char* kClusterColumns =
    "id, region, mode, state, state_message, retention_days, "
    "source_backup_id, create_time, csr_pem, certificate_pem, "
    "trust_anchor_pem";
constexpr const char* kHsmColumns =
    "id, cluster_id, state, state_message, endpoint, availability_zone, "
    "create_time";
constexpr const char* kBackupColumns =
    "id, cluster_id, region, state, mode, create_time, delete_time, "
    "never_expires, source_backup_id, source_region, source_cluster_id, "
    "copy_time";

// SQLITE_BUSY here means another process holds the exclusive lock.
constexpr sqlite::BusyMapping kBusy{
    absl::StatusCode::kFailedPrecondition,
    "is another coffer-manager using this data directory?"};

// One-off statements with positional binding in call order; text is
// copied, so temporaries are fine. The first error sticks until Step().
class Stmt {
 public:
  Stmt(const sqlite::Connection& conn, absl::string_view sql)
      : prepared_(sqlite::Statement::Prepare(
            conn, std::string_view(sql.data(), sql.size()))) {}

  Stmt& Text(absl::string_view v) {
    if (Ready()) {
      status_ = prepared_->BindTextCopy(++index_,
                                        std::string_view(v.data(), v.size()));
    }
    return *this;
  }
  Stmt& Int(int64_t v) {
    if (Ready()) status_ = prepared_->BindInt64(++index_, v);
    return *this;
  }
  // true: a row is ready.
  absl::StatusOr<bool> Step() {
    COFFER_RETURN_IF_ERROR(prepared_.status());
    COFFER_RETURN_IF_ERROR(status_);
    return prepared_->Step();
  }
  absl::Status Run() { return Step().status(); }
  std::string ColText(int i) const { return prepared_->ColumnString(i); }
  int64_t ColInt(int i) const { return prepared_->ColumnInt64(i); }

 private:
  bool Ready() const { return prepared_.ok() && status_.ok(); }
  absl::StatusOr<sqlite::Statement> prepared_;
  absl::Status status_;
  int index_ = 0;
};

// Enum columns are checked on the way in from disk: a value we never wrote
// means the file was damaged or written by a newer manager.
template <typename E>
absl::StatusOr<E> CheckedEnum(int64_t v, int64_t max, absl::string_view what) {
  if (v < 1 || v > max) {
    return absl::DataLossError(
        absl::StrCat("manager.db holds an unknown ", what, " value ", v));
  }
  return static_cast<E>(v);
}

absl::StatusOr<Hsm> ReadHsm(const Stmt& s) {
  Hsm h;
  h.hsm_id = s.ColText(0);
  h.cluster_id = s.ColText(1);
  COFFER_ASSIGN_OR_RETURN(h.state,
                          CheckedEnum<HsmState>(s.ColInt(2), 5, "HSM state"));
  h.state_message = s.ColText(3);
  h.endpoint = s.ColText(4);
  h.availability_zone = s.ColText(5);
  h.create_time = s.ColInt(6);
  return h;
}

absl::StatusOr<Cluster> ReadCluster(const Stmt& s) {
  Cluster c;
  c.cluster_id = s.ColText(0);
  c.region = s.ColText(1);
  COFFER_ASSIGN_OR_RETURN(c.mode,
                          CheckedEnum<ClusterMode>(s.ColInt(2), 2, "mode"));
  COFFER_ASSIGN_OR_RETURN(
      c.state, CheckedEnum<ClusterState>(s.ColInt(3), 9, "cluster state"));
  c.state_message = s.ColText(4);
  c.backup_retention_days = static_cast<uint32_t>(s.ColInt(5));
  c.source_backup_id = s.ColText(6);
  c.create_time = s.ColInt(7);
  c.cluster_csr_pem = s.ColText(8);
  c.cluster_certificate_pem = s.ColText(9);
  c.trust_anchor_pem = s.ColText(10);
  return c;
}

absl::StatusOr<Backup> ReadBackup(const Stmt& s) {
  Backup b;
  b.backup_id = s.ColText(0);
  b.cluster_id = s.ColText(1);
  b.region = s.ColText(2);
  COFFER_ASSIGN_OR_RETURN(
      b.state, CheckedEnum<BackupState>(s.ColInt(3), 4, "backup state"));
  COFFER_ASSIGN_OR_RETURN(b.mode,
                          CheckedEnum<ClusterMode>(s.ColInt(4), 2, "mode"));
  b.create_time = s.ColInt(5);
  b.delete_time = s.ColInt(6);
  b.never_expires = s.ColInt(7) != 0;
  b.source_backup_id = s.ColText(8);
  b.source_region = s.ColText(9);
  b.source_cluster_id = s.ColText(10);
  b.copy_time = s.ColInt(11);
  return b;
}

class SqliteStateStore final : public StateStore {
 public:
  explicit SqliteStateStore(sqlite::Connection conn) : conn_(std::move(conn)) {}

  absl::Status Init(const std::string& path);
  absl::Status Transaction(absl::FunctionRef<absl::Status()> body) override;
  absl::StatusOr<Cluster> GetCluster(absl::string_view cluster_id) override;
  absl::StatusOr<std::vector<Cluster>> ListClusters() override;
  absl::StatusOr<Backup> GetBackup(absl::string_view backup_id) override;
  absl::StatusOr<std::vector<Backup>> ListBackups() override;
  absl::StatusOr<std::vector<Tag>> GetTags(
      absl::string_view resource_id) override;
  absl::StatusOr<bool> IdExists(absl::string_view id) override;
  absl::Status PutCluster(const Cluster& cluster) override;
  absl::Status PutHsm(const Hsm& hsm) override;
  absl::Status PutBackup(const Backup& backup) override;
  absl::Status SetTags(absl::string_view resource_id,
                       const std::vector<Tag>& tags) override;

 private:
  absl::Status Exec(const char* sql) { return conn_.Exec(sql); }
  absl::StatusOr<int64_t> QueryInt(const char* sql) {
    return conn_.QueryInt(sql);
  }
  absl::Status CheckWritable() const {
    if (in_transaction_) return absl::OkStatus();
    return absl::FailedPreconditionError(
        "manager state written outside a transaction");
  }
  // Every HSM, grouped by cluster id, each group by create time.
  absl::StatusOr<std::map<std::string, std::vector<Hsm>>> HsmsByCluster(
      absl::string_view only_cluster);
  absl::StatusOr<std::map<std::string, std::vector<Tag>>> AllTags();

  sqlite::Connection conn_;
  bool in_transaction_ = false;
};

absl::Status SqliteStateStore::Init(const std::string& path) {
  // Exclusive locking before the first WAL access: no shared-memory index,
  // and the lock is held until close (one manager per data directory).
  COFFER_RETURN_IF_ERROR(Exec("PRAGMA locking_mode=EXCLUSIVE"));
  COFFER_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
  COFFER_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
  COFFER_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON"));
  COFFER_ASSIGN_OR_RETURN(int64_t version, QueryInt("PRAGMA user_version"));
  if (version == kSchemaVersion) {
    COFFER_ASSIGN_OR_RETURN(int64_t app, QueryInt("PRAGMA application_id"));
    if (app != kApplicationId) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is not a coffer-manager state file"));
    }
    // Takes the exclusive lock now rather than at the first write.
    return Transaction([] { return absl::OkStatus(); });
  }
  if (version != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has schema version ", version, "; this manager reads ",
        kSchemaVersion, ": run a newer coffer-manager"));
  }
  auto create = [this]() -> absl::Status {
    COFFER_RETURN_IF_ERROR(Exec(kSchema));
    COFFER_RETURN_IF_ERROR(Exec("PRAGMA application_id=1128680775"));
    return Exec("PRAGMA user_version=1");
  };
  return Transaction(create);
}
static_assert(kApplicationId == 1128680775);

absl::Status SqliteStateStore::Transaction(
    absl::FunctionRef<absl::Status()> body) {
  if (in_transaction_) {
    return absl::InternalError("nested manager state transaction");
  }
  COFFER_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  in_transaction_ = true;
  absl::Status status = body();
  if (status.ok()) status = Exec("COMMIT");
  in_transaction_ = false;
  if (!status.ok()) (void)Exec("ROLLBACK");  // fails harmlessly if none open
  return status;
}

absl::StatusOr<std::map<std::string, std::vector<Hsm>>>
SqliteStateStore::HsmsByCluster(absl::string_view only_cluster) {
  Stmt s(conn_, absl::StrCat("SELECT ", kHsmColumns,
                             " FROM hsms WHERE ?1 = '' OR cluster_id = ?1 "
                             "ORDER BY create_time, id"));
  s.Text(only_cluster);
  std::map<std::string, std::vector<Hsm>> out;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    COFFER_ASSIGN_OR_RETURN(Hsm hsm, ReadHsm(s));
    out[hsm.cluster_id].push_back(std::move(hsm));
  }
}

absl::StatusOr<std::map<std::string, std::vector<Tag>>>
SqliteStateStore::AllTags() {
  Stmt s(conn_, "SELECT resource_id, key, value FROM tags ORDER BY 1, 2");
  std::map<std::string, std::vector<Tag>> out;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out[s.ColText(0)].push_back(Tag{s.ColText(1), s.ColText(2)});
  }
}

absl::StatusOr<std::vector<Tag>> SqliteStateStore::GetTags(
    absl::string_view resource_id) {
  Stmt s(conn_, "SELECT key, value FROM tags WHERE resource_id = ? ORDER BY 1");
  s.Text(resource_id);
  std::vector<Tag> out;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(Tag{s.ColText(0), s.ColText(1)});
  }
}

absl::StatusOr<Cluster> SqliteStateStore::GetCluster(
    absl::string_view cluster_id) {
  Stmt s(conn_, absl::StrCat("SELECT ", kClusterColumns,
                             " FROM clusters WHERE id = ?"));
  s.Text(cluster_id);
  COFFER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return absl::NotFoundError(absl::StrCat("no cluster ", cluster_id));
  }
  COFFER_ASSIGN_OR_RETURN(Cluster c, ReadCluster(s));
  COFFER_ASSIGN_OR_RETURN(auto hsms, HsmsByCluster(cluster_id));
  c.hsms = std::move(hsms[c.cluster_id]);
  COFFER_ASSIGN_OR_RETURN(c.tags, GetTags(cluster_id));
  return c;
}

absl::StatusOr<std::vector<Cluster>> SqliteStateStore::ListClusters() {
  COFFER_ASSIGN_OR_RETURN(auto hsms, HsmsByCluster(""));
  COFFER_ASSIGN_OR_RETURN(auto tags, AllTags());
  Stmt s(conn_, absl::StrCat("SELECT ", kClusterColumns,
                             " FROM clusters ORDER BY create_time, id"));
  std::vector<Cluster> out;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    COFFER_ASSIGN_OR_RETURN(Cluster c, ReadCluster(s));
    c.hsms = std::move(hsms[c.cluster_id]);
    c.tags = std::move(tags[c.cluster_id]);
    out.push_back(std::move(c));
  }
}

absl::StatusOr<Backup> SqliteStateStore::GetBackup(
    absl::string_view backup_id) {
  Stmt s(conn_,
         absl::StrCat("SELECT ", kBackupColumns, " FROM backups WHERE id = ?"));
  s.Text(backup_id);
  COFFER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no backup ", backup_id));
  COFFER_ASSIGN_OR_RETURN(Backup b, ReadBackup(s));
  COFFER_ASSIGN_OR_RETURN(b.tags, GetTags(backup_id));
  return b;
}

absl::StatusOr<std::vector<Backup>> SqliteStateStore::ListBackups() {
  COFFER_ASSIGN_OR_RETURN(auto tags, AllTags());
  Stmt s(conn_, absl::StrCat("SELECT ", kBackupColumns,
                             " FROM backups ORDER BY create_time, id"));
  std::vector<Backup> out;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    COFFER_ASSIGN_OR_RETURN(Backup b, ReadBackup(s));
    b.tags = std::move(tags[b.backup_id]);
    out.push_back(std::move(b));
  }
}

absl::StatusOr<bool> SqliteStateStore::IdExists(absl::string_view id) {
  Stmt s(conn_,
         "SELECT 1 FROM clusters WHERE id = ?1 UNION ALL "
         "SELECT 1 FROM hsms WHERE id = ?1 UNION ALL "
         "SELECT 1 FROM backups WHERE id = ?1");
  s.Text(id);
  return s.Step();
}

absl::Status SqliteStateStore::PutCluster(const Cluster& c) {
  COFFER_RETURN_IF_ERROR(CheckWritable());
  Stmt s(conn_,
         absl::StrCat("INSERT OR REPLACE INTO clusters(", kClusterColumns,
                      ") VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
  s.Text(c.cluster_id)
      .Text(c.region)
      .Int(static_cast<int64_t>(c.mode))
      .Int(static_cast<int64_t>(c.state))
      .Text(c.state_message)
      .Int(c.backup_retention_days)
      .Text(c.source_backup_id)
      .Int(c.create_time)
      .Text(c.cluster_csr_pem)
      .Text(c.cluster_certificate_pem)
      .Text(c.trust_anchor_pem);
  return s.Run();
}

absl::Status SqliteStateStore::PutHsm(const Hsm& h) {
  COFFER_RETURN_IF_ERROR(CheckWritable());
  Stmt s(conn_, absl::StrCat("INSERT OR REPLACE INTO hsms(", kHsmColumns,
                             ") VALUES (?,?,?,?,?,?,?)"));
  s.Text(h.hsm_id)
      .Text(h.cluster_id)
      .Int(static_cast<int64_t>(h.state))
      .Text(h.state_message)
      .Text(h.endpoint)
      .Text(h.availability_zone)
      .Int(h.create_time);
  return s.Run();
}

absl::Status SqliteStateStore::PutBackup(const Backup& b) {
  COFFER_RETURN_IF_ERROR(CheckWritable());
  Stmt s(conn_, absl::StrCat("INSERT OR REPLACE INTO backups(", kBackupColumns,
                             ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
  s.Text(b.backup_id)
      .Text(b.cluster_id)
      .Text(b.region)
      .Int(static_cast<int64_t>(b.state))
      .Int(static_cast<int64_t>(b.mode))
      .Int(b.create_time)
      .Int(b.delete_time)
      .Int(b.never_expires ? 1 : 0)
      .Text(b.source_backup_id)
      .Text(b.source_region)
      .Text(b.source_cluster_id)
      .Int(b.copy_time);
  return s.Run();
}

absl::Status SqliteStateStore::SetTags(absl::string_view resource_id,
                                       const std::vector<Tag>& tags) {
  COFFER_RETURN_IF_ERROR(CheckWritable());
  Stmt erase(conn_, "DELETE FROM tags WHERE resource_id = ?");
  COFFER_RETURN_IF_ERROR(erase.Text(resource_id).Run());
  for (const Tag& tag : tags) {
    Stmt s(conn_, "INSERT INTO tags(resource_id, key, value) VALUES (?,?,?)");
    COFFER_RETURN_IF_ERROR(
        s.Text(resource_id).Text(tag.key).Text(tag.value).Run());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(
    const std::string& data_dir) {
  const std::string path = data_dir + "/manager.db";
  COFFER_RETURN_IF_ERROR(sqlite::PrepareDbFile(path, /*create=*/true));
  COFFER_ASSIGN_OR_RETURN(sqlite::Connection conn,
                          sqlite::Connection::Open(path, kBusy));
  conn.DistrustSchema();
  auto store = std::make_unique<SqliteStateStore>(std::move(conn));
  COFFER_RETURN_IF_ERROR(store->Init(path));
  return store;
}

}  // namespace coffer::manager
