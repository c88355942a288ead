#include "sealport/state/database.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "sealport/core/crypto.hpp"

namespace sealport::state {

void throwDbError(sqlite3* db, int rc, std::string_view what) {
    const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    throw DbError(rc, std::string(what) + ": " + (msg != nullptr ? msg : "unknown error"));
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
    sqlite3_stmt* raw = nullptr;
    const int rc =
        sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    stmt_.reset(raw);
    if (rc != SQLITE_OK) throwDbError(db, rc, "prepare");
}

Statement::Statement(sqlite3* db, std::string_view sql, std::shared_ptr<StatementCache> cache)
    : db_(db), cache_(std::move(cache)), sql_(sql) {
    if (sqlite3_stmt* reused = cache_->take(sql)) {
        stmt_.reset(reused);
        return;
    }
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    stmt_.reset(raw);
    if (rc != SQLITE_OK) throwDbError(db, rc, "prepare");
}

Statement::~Statement() {
    if (cache_ && stmt_) {
        sqlite3_reset(stmt_.get());
        sqlite3_clear_bindings(stmt_.get());
        cache_->give(sql_, stmt_.release());
    }
}

StatementCache::~StatementCache() {
    for (auto& [sql, list] : free_)
        for (sqlite3_stmt* s : list) sqlite3_finalize(s);
}

sqlite3_stmt* StatementCache::take(std::string_view sql) noexcept {
    const auto it = free_.find(std::string(sql));
    if (it == free_.end() || it->second.empty()) return nullptr;
    sqlite3_stmt* s = it->second.back();
    it->second.pop_back();
    return s;
}

void StatementCache::give(std::string_view sql, sqlite3_stmt* stmt) noexcept {
    constexpr std::size_t kPerStatement = 4;
    try {
        auto& list = free_[std::string(sql)];
        if (list.size() < kPerStatement) {
            list.push_back(stmt);
            return;
        }
    } catch (...) {
    }
    sqlite3_finalize(stmt);
}

Statement& Statement::bind(int index, std::int64_t value) {
    const int rc = sqlite3_bind_int64(stmt_.get(), index, value);
    if (rc != SQLITE_OK) throwDbError(db_, rc, "bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    const int rc = sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                                     SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) throwDbError(db_, rc, "bind");
    return *this;
}

Statement& Statement::bind(int index, std::span<const std::uint8_t> blob) {
    const int rc = sqlite3_bind_blob(stmt_.get(), index, blob.data(), static_cast<int>(blob.size()),
                                     SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) throwDbError(db_, rc, "bind");
    return *this;
}

Statement& Statement::bindNull(int index) {
    const int rc = sqlite3_bind_null(stmt_.get(), index);
    if (rc != SQLITE_OK) throwDbError(db_, rc, "bind");
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_NOTADB) throw StateKeyError();
    throwDbError(db_, rc, "step");
}

void Statement::reset() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
}

bool Statement::isNull(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }

std::int64_t Statement::integer(int col) const { return sqlite3_column_int64(stmt_.get(), col); }

std::string Statement::text(int col) const {
    const auto* p = sqlite3_column_text(stmt_.get(), col);
    const int n = sqlite3_column_bytes(stmt_.get(), col);
    if (p == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::vector<std::uint8_t> Statement::blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_.get(), col));
    const int n = sqlite3_column_bytes(stmt_.get(), col);
    if (p == nullptr) return {};
    return std::vector<std::uint8_t>(p, p + n);
}

Database Database::open(const std::filesystem::path& path, const core::SecretBytes& rawKey) {
    if (rawKey.size() != 32) throw std::invalid_argument("database key must be 32 bytes");
    // SQLite 3.15 has no SQLITE_OPEN_NOFOLLOW; the state directory is ours and
    // 0700, and a symlink planted before we got there is refused here.
    std::error_code ec;
    if (std::filesystem::is_symlink(path, ec))
        throw std::runtime_error("refusing state file " + path.string() + ": it is a symlink");
    // SQLite creates files with the process umask, and its -wal and -shm files
    // copy the database file's mode: create it 0600 first.
    {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
        struct stat st{};
        const bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid();
        if (ok && (st.st_mode & 077) != 0) (void)::fchmod(fd, 0600);
        ::close(fd);
        if (!ok) throw std::runtime_error("refusing state file " + path.string() + ": not a regular file of ours");
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                   nullptr);
    Sqlite3Ptr db(raw);
    if (rc != SQLITE_OK) throwDbError(raw, rc, "open " + path.string());

    // PRAGMA key = "x'<hex>'": a raw key, no passphrase KDF. The hex text is
    // itself key material, so it lives in wiped storage.
    {
        const std::string_view prefix = "PRAGMA key = \"x'";
        const std::string_view suffix = "'\";";
        core::SecretBytes sql(prefix.size() + 64 + suffix.size() + 1);
        auto* out = reinterpret_cast<char*>(sql.data());
        std::size_t pos = 0;
        for (char c : prefix) out[pos++] = c;
        static constexpr char kDigits[] = "0123456789abcdef";
        for (std::uint8_t b : rawKey.bytes()) {
            out[pos++] = kDigits[b >> 4];
            out[pos++] = kDigits[b & 0x0F];
        }
        for (char c : suffix) out[pos++] = c;
        out[pos] = '\0';
        const int krc = sqlite3_exec(db.get(), out, nullptr, nullptr, nullptr);
        if (krc != SQLITE_OK) throwDbError(db.get(), krc, "set key");
    }

    Database d(std::move(db));
    // The first read proves the key: SQLITE_NOTADB means it does not decrypt.
    try {
        Statement probe(d.handle(), "SELECT count(*) FROM sqlite_master");
        probe.step();
    } catch (const DbError& e) {
        if (e.code() == SQLITE_NOTADB) throw StateKeyError();
        throw;
    }
    sqlite3_busy_timeout(d.handle(), 5000);
    // Temporary tables and sort spills would otherwise reach the disk in plaintext.
    d.exec("PRAGMA temp_store = MEMORY");
    d.exec("PRAGMA journal_mode = WAL");
    d.exec("PRAGMA synchronous = FULL");
    d.exec("PRAGMA foreign_keys = ON");
    d.exec("PRAGMA secure_delete = ON");
    return d;
}

void Database::exec(std::string_view sql) {
    std::string s(sql);
    char* err = nullptr;
    const int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        if (rc == SQLITE_NOTADB) throw StateKeyError();
        throw DbError(rc, "exec: " + msg);
    }
}

Statement Database::prepare(std::string_view sql) { return Statement(db_.get(), sql, statements_); }

void Database::afterCommit(std::function<void()> fn) {
    if (!inTransaction()) {
        fn();
        return;
    }
    afterCommit_.push_back(std::move(fn));
}

void Database::afterTransaction(std::function<void()> fn) {
    if (!inTransaction()) {
        fn();
        return;
    }
    afterTransaction_.push_back(std::move(fn));
}

void Database::runAfterTransaction(bool committed) noexcept {
    auto commits = std::move(afterCommit_);
    afterCommit_.clear();
    auto always = std::move(afterTransaction_);
    afterTransaction_.clear();
    // Best effort: the transaction's outcome stands whatever these do.
    auto run = [](std::vector<std::function<void()>>& fns) {
        for (auto& fn : fns) {
            try {
                fn();
            } catch (...) {
            }
        }
    };
    if (committed) run(commits);
    run(always);
}

bool Database::inTransaction() const noexcept { return sqlite3_get_autocommit(db_.get()) == 0; }

std::string Database::integrityCheck() {
    Statement s = prepare("PRAGMA integrity_check");
    std::string out;
    while (s.step()) {
        if (!out.empty()) out += "; ";
        out += s.text(0);
    }
    return out;
}

Database::ReadTransaction::ReadTransaction(Database& db) : db_(db), own_(!db.inTransaction()) {
    if (own_) db_.exec("BEGIN DEFERRED");
}

Database::ReadTransaction::~ReadTransaction() {
    if (!own_ || !db_.inTransaction()) return;
    try {
        db_.exec("COMMIT");  // nothing was written: ends the snapshot
    } catch (...) {
        sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

Database::Transaction::Transaction(Database& db)
    : db_(db), nested_(db.inTransaction()), pendingAtStart_(db.afterCommit_.size()) {
    if (nested_) {
        savepoint_ = "sp" + std::to_string(++db_.savepointCounter_);
        db_.exec("SAVEPOINT " + savepoint_);
    } else {
        db_.exec("BEGIN IMMEDIATE");
    }
}

Database::Transaction::~Transaction() {
    if (done_) return;
    try {
        if (nested_) {
            // Work registered inside the savepoint goes with it.
            db_.afterCommit_.resize(std::min(db_.afterCommit_.size(), pendingAtStart_));
            db_.exec("ROLLBACK TO " + savepoint_);
            db_.exec("RELEASE " + savepoint_);
        } else {
            db_.exec("ROLLBACK");
        }
    } catch (...) {
        // Nothing more can be done from a destructor; SQLite rolls back on close.
    }
    if (!nested_) db_.runAfterTransaction(false);
}

void Database::Transaction::commit() {
    if (nested_) {
        db_.exec("RELEASE " + savepoint_);
        done_ = true;
        return;
    }
    db_.exec("COMMIT");
    done_ = true;
    db_.runAfterTransaction(true);
}

namespace {

// Each entry moves the schema from version i to i+1. Never edit a released one.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    time       TEXT NOT NULL,
    actor_uid  INTEGER,
    actor_pid  INTEGER,
    actor_role TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL
);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE audit_checkpoint (
    seq             INTEGER PRIMARY KEY,
    time            TEXT NOT NULL,
    hash            BLOB NOT NULL,
    key_fingerprint TEXT NOT NULL,
    signature       BLOB NOT NULL
);
CREATE TABLE mode_record (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    mode      TEXT NOT NULL,
    since     TEXT NOT NULL,
    since_ms  INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    audit_seq INTEGER NOT NULL
);
CREATE TABLE exit_approval (
    uid       INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL
);
)sql",
    // 2: the catalogue of received instances (issue 4). Patient and study
    // attributes are kept per study as first received.
    R"sql(
CREATE TABLE study (
    study_uid    TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    birth_date   TEXT NOT NULL,
    sex          TEXT NOT NULL,
    study_date   TEXT NOT NULL,
    study_time   TEXT NOT NULL,
    description  TEXT NOT NULL,
    accession    TEXT NOT NULL,
    referring    TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE INDEX study_patient ON study (patient_id);
CREATE TABLE series (
    series_uid  TEXT PRIMARY KEY,
    study_uid   TEXT NOT NULL REFERENCES study (study_uid),
    number      INTEGER,
    modality    TEXT NOT NULL,
    description TEXT NOT NULL
);
CREATE INDEX series_study ON series (study_uid);
CREATE TABLE instance (
    sop_instance_uid TEXT PRIMARY KEY,
    series_uid       TEXT NOT NULL REFERENCES series (series_uid),
    sop_class_uid    TEXT NOT NULL,
    instance_number  INTEGER,
    transfer_syntax  TEXT NOT NULL,
    size             INTEGER NOT NULL,
    sha256           BLOB NOT NULL,
    dataset_sha256   BLOB NOT NULL,
    blob_id          TEXT NOT NULL UNIQUE,
    source           TEXT NOT NULL,
    received_at      TEXT NOT NULL
);
CREATE INDEX instance_series ON instance (series_uid);
)sql",
    // 3: online links (issue 5). Secrets are stored only as SHA-256. The
    // instance's CRC-32 (ZIP headers need it before the bytes) is filled when
    // a link to its study is created.
    R"sql(
ALTER TABLE instance ADD COLUMN crc32 INTEGER;
CREATE TABLE link (
    id             TEXT PRIMARY KEY,
    token_sha256   BLOB NOT NULL UNIQUE,
    recipient      TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    expires_ms     INTEGER NOT NULL,
    max_downloads  INTEGER NOT NULL,
    downloads      INTEGER NOT NULL,
    revoked_ms     INTEGER,
    revoked_reason TEXT
);
CREATE TABLE link_study (
    link_id   TEXT NOT NULL REFERENCES link (id),
    position  INTEGER NOT NULL,
    study_uid TEXT NOT NULL REFERENCES study (study_uid),
    PRIMARY KEY (link_id, position)
);
CREATE TABLE apikey (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    key_sha256   BLOB NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   TEXT,
    last_used_at TEXT
);
CREATE TABLE deferred_request (
    id          TEXT PRIMARY KEY,
    apikey_id   TEXT NOT NULL REFERENCES apikey (id),
    received_at TEXT NOT NULL,
    request     TEXT NOT NULL,
    status      TEXT NOT NULL,
    link_id     TEXT,
    detail      TEXT NOT NULL
);
)sql",
};

int userVersion(Database& db) {
    Statement s = db.prepare("PRAGMA user_version");
    s.step();
    return static_cast<int>(s.integer(0));
}

}  // namespace

void migrate(Database& db) {
    const int current = userVersion(db);
    if (current > kSchemaVersion)
        throw std::runtime_error("the state is from a newer sealport (schema " +
                                 std::to_string(current) + ", this build knows " +
                                 std::to_string(kSchemaVersion) + "); refusing to touch it");
    for (int v = current; v < kSchemaVersion; ++v) {
        Database::Transaction tx(db);
        db.exec(kMigrations[static_cast<std::size_t>(v)]);
        db.exec("PRAGMA user_version = " + std::to_string(v + 1));
        tx.commit();
    }
}

}  // namespace sealport::state
