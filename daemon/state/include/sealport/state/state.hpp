#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "sealport/core/clock.hpp"
#include "sealport/core/config.hpp"
#include "sealport/core/crypto.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/policy/mode.hpp"
#include "sealport/policy/transition.hpp"
#include "sealport/state/audit.hpp"
#include "sealport/state/blob_store.hpp"
#include "sealport/state/catalogue.hpp"
#include "sealport/state/database.hpp"

namespace sealport::state {

// The persisted mode: the one record that says which mode the appliance is
// in, the pending exit approvals, and the audit entry that set it.
struct ModeRecord {
    policy::ModeState state;
    std::int64_t auditSeq = 0;
};

// nullopt when there is no record or it does not parse: the caller fails secure.
std::optional<ModeRecord> loadModeRecord(Database& db);
void saveModeRecord(Database& db, const ModeRecord& record);

// A record is verifiable when the audit entry it names exists, is a mode
// entry, and states the same mode. Returns the reason when it is not.
std::optional<std::string> checkModeRecordAgainstAudit(Database& db, const ModeRecord& record);

std::int64_t toMillis(policy::TimePoint t);
policy::TimePoint fromMillis(std::int64_t ms);

// A further connection to the same encrypted database, for a thread of its
// own (each DICOM association gets one). SQLite serializes writers across
// connections; the audit chain stays one chain.
struct Connection {
    Connection(const std::filesystem::path& file, const core::SecretBytes& key, const core::Clock& clock,
               const core::Ed25519Signer& signer, unsigned checkpointEvery);
    Database db;
    AuditLog audit;
    Catalogue catalogue;
};

// The encrypted state directory: database, audit log, signing identity,
// catalogue and blob store.
class State {
public:
    // Creates the directory (0700) if needed, opens and migrates the database.
    // Throws StateKeyError when the key does not decrypt existing state.
    State(const std::filesystem::path& dir, const core::KeyRing& keys, const core::Clock& clock,
          unsigned checkpointEvery);

    State(const State&) = delete;
    State& operator=(const State&) = delete;

    [[nodiscard]] Database& db() noexcept { return db_; }
    [[nodiscard]] AuditLog& audit() noexcept { return audit_; }
    [[nodiscard]] const core::Ed25519Signer& signer() const noexcept { return signer_; }
    // True when this open created the state (no database existed before).
    [[nodiscard]] bool created() const noexcept { return created_; }
    [[nodiscard]] const std::filesystem::path& databasePath() const noexcept { return dbPath_; }
    [[nodiscard]] Catalogue& catalogue() noexcept { return catalogue_; }
    [[nodiscard]] BlobStore& blobs() noexcept { return blobs_; }

    // Opens another connection (same key, same signer) for another thread.
    [[nodiscard]] std::unique_ptr<Connection> connect(const core::Clock& clock) const;

private:
    std::filesystem::path dbPath_;
    bool created_;
    core::SecretBytes dbKey_;
    core::SecretBytes blobKey_;
    unsigned checkpointEvery_;
    Database db_;
    core::Ed25519Signer signer_;
    AuditLog audit_;
    Catalogue catalogue_;
    BlobStore blobs_;
};

}  // namespace sealport::state
