#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "sealport/core/clock.hpp"
#include "sealport/core/config.hpp"
#include "sealport/core/crypto.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/policy/mode.hpp"
#include "sealport/state/audit.hpp"
#include "sealport/state/database.hpp"

namespace sealport::state {

// The persisted mode: the one record that says which mode the appliance is in.
struct ModeRecord {
    policy::Mode mode = policy::Mode::incident;
    std::string since;
    std::string reason;
    std::int64_t auditSeq = 0;
};

std::optional<ModeRecord> loadModeRecord(Database& db);
// Unknown text in the record is reported as nullopt: the caller fails secure.
void saveModeRecord(Database& db, const ModeRecord& record);

// The encrypted state directory: database, audit log, signing identity.
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

private:
    std::filesystem::path dbPath_;
    bool created_;
    Database db_;
    core::Ed25519Signer signer_;
    AuditLog audit_;
};

}  // namespace sealport::state
