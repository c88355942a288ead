#include "sealport/state/state.hpp"

#include "sealport/core/files.hpp"

namespace sealport::state {
namespace {

// A state is new only when its directory is missing or empty. A directory that
// holds anything but no database (someone deleted state.db) is not new: the
// caller then finds no mode record and fails secure.
bool directoryIsNew(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return true;
    return std::filesystem::is_directory(dir, ec) && std::filesystem::is_empty(dir, ec);
}

Database openDatabase(const std::filesystem::path& dir, const std::filesystem::path& file,
                      const core::KeyRing& keys) {
    core::ensurePrivateDirectory(dir);
    Database db = Database::open(file, keys.database);
    migrate(db);
    return db;
}

}  // namespace

std::int64_t toMillis(policy::TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

policy::TimePoint fromMillis(std::int64_t ms) {
    return policy::TimePoint(std::chrono::duration_cast<policy::TimePoint::duration>(
        std::chrono::milliseconds(ms)));
}

std::optional<ModeRecord> loadModeRecord(Database& db) {
    Statement s = db.prepare("SELECT mode, since_ms, reason, audit_seq FROM mode_record WHERE id = 1");
    if (!s.step()) return std::nullopt;
    auto mode = policy::parseMode(s.text(0));
    if (!mode) return std::nullopt;
    ModeRecord r;
    r.state.mode = *mode;
    r.state.since = fromMillis(s.integer(1));
    r.state.reason = s.text(2);
    r.auditSeq = s.integer(3);
    Statement a = db.prepare("SELECT uid, at_ms FROM exit_approval ORDER BY at_ms");
    while (a.step())
        r.state.approvals.push_back(
            policy::Approval{static_cast<std::uint32_t>(a.integer(0)), fromMillis(a.integer(1))});
    return r;
}

void saveModeRecord(Database& db, const ModeRecord& r) {
    Database::Transaction tx(db);
    Statement s = db.prepare(
        "INSERT OR REPLACE INTO mode_record (id, mode, since, since_ms, reason, audit_seq) "
        "VALUES (1, ?, ?, ?, ?, ?)");
    s.bind(1, policy::toString(r.state.mode))
        .bind(2, core::formatUtc(r.state.since))
        .bind(3, toMillis(r.state.since))
        .bind(4, r.state.reason)
        .bind(5, r.auditSeq);
    s.step();
    db.exec("DELETE FROM exit_approval");
    for (const auto& a : r.state.approvals) {
        Statement ins = db.prepare("INSERT INTO exit_approval (uid, at_ms) VALUES (?, ?)");
        ins.bind(1, static_cast<std::int64_t>(a.uid)).bind(2, toMillis(a.at));
        ins.step();
    }
    tx.commit();
}

std::optional<std::string> checkModeRecordAgainstAudit(Database& db, const ModeRecord& r) {
    Statement s = db.prepare("SELECT action, details FROM audit WHERE seq = ?");
    s.bind(1, r.auditSeq);
    if (!s.step())
        return "the mode record names audit entry " + std::to_string(r.auditSeq) + ", which is missing";
    const std::string action = s.text(0);
    if (action.rfind("incident.", 0) != 0 && action != "state.created" && action != "mode.fail_secure")
        return "the mode record names audit entry " + std::to_string(r.auditSeq) +
               ", which is not a mode change (" + action + ")";
    const auto details = nlohmann::json::parse(s.text(1), nullptr, false);
    const std::string mode(policy::toString(r.state.mode));
    if (details.is_discarded() || !details.is_object() || details.value("mode", std::string()) != mode)
        return "the mode record says " + mode + " but audit entry " + std::to_string(r.auditSeq) +
               " does not";
    // The record must be the latest one written: SQLCipher authenticates pages
    // but not their age, so an old copy of the record's page could be put back.
    Statement latest = db.prepare(
        "SELECT seq, details FROM audit WHERE action LIKE 'incident.%' OR action IN "
        "('state.created', 'mode.fail_secure') ORDER BY seq DESC");
    while (latest.step()) {
        const auto d = nlohmann::json::parse(latest.text(1), nullptr, false);
        if (d.is_discarded() || !d.is_object() || !d.value("record_written", false)) continue;
        if (latest.integer(0) != r.auditSeq)
            return "the mode record names audit entry " + std::to_string(r.auditSeq) +
                   " but the latest mode record was written at entry " +
                   std::to_string(latest.integer(0));
        return std::nullopt;
    }
    return "no audit entry records writing the mode record";
}

State::State(const std::filesystem::path& dir, const core::KeyRing& keys, const core::Clock& clock,
             unsigned checkpointEvery)
    : dbPath_(dir / "state.db")
    , created_(directoryIsNew(dir))
    , dbKey_(keys.database.bytes())
    , blobKey_(keys.blobs.bytes())
    , checkpointEvery_(checkpointEvery)
    , db_(openDatabase(dir, dbPath_, keys))
    , signer_(keys.signing)
    , audit_(db_, clock, signer_, checkpointEvery)
    , catalogue_(db_)
    , blobs_(dir / "blobs", blobKey_) {}

std::unique_ptr<Connection> State::connect(const core::Clock& clock) const {
    return std::make_unique<Connection>(dbPath_, dbKey_, clock, signer_, checkpointEvery_);
}

Connection::Connection(const std::filesystem::path& file, const core::SecretBytes& key, const core::Clock& clock,
                       const core::Ed25519Signer& signer, unsigned checkpointEvery)
    : db(Database::open(file, key)), audit(db, clock, signer, checkpointEvery), catalogue(db) {}

}  // namespace sealport::state
