#include "sealport/state/state.hpp"

#include "sealport/core/files.hpp"

namespace sealport::state {
namespace {

Database openDatabase(const std::filesystem::path& dir, const std::filesystem::path& file,
                      const core::KeyRing& keys) {
    core::ensurePrivateDirectory(dir);
    Database db = Database::open(file, keys.database);
    migrate(db);
    return db;
}

}  // namespace

std::optional<ModeRecord> loadModeRecord(Database& db) {
    Statement s = db.prepare("SELECT mode, since, reason, audit_seq FROM mode_record WHERE id = 1");
    if (!s.step()) return std::nullopt;
    auto mode = policy::parseMode(s.text(0));
    if (!mode) return std::nullopt;
    return ModeRecord{*mode, s.text(1), s.text(2), s.integer(3)};
}

void saveModeRecord(Database& db, const ModeRecord& r) {
    Statement s = db.prepare(
        "INSERT OR REPLACE INTO mode_record (id, mode, since, reason, audit_seq) "
        "VALUES (1, ?, ?, ?, ?)");
    s.bind(1, policy::toString(r.mode)).bind(2, r.since).bind(3, r.reason).bind(4, r.auditSeq);
    s.step();
}

State::State(const std::filesystem::path& dir, const core::KeyRing& keys, const core::Clock& clock,
             unsigned checkpointEvery)
    : dbPath_(dir / "state.db")
    , created_(!std::filesystem::exists(dbPath_))
    , db_(openDatabase(dir, dbPath_, keys))
    , signer_(keys.signing)
    , audit_(db_, clock, signer_, checkpointEvery) {}

}  // namespace sealport::state
