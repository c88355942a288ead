#pragma once

// A real SQLCipher database in a fresh directory, with an audit log on a
// virtual clock and a signing key made from a fixed seed.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core_test_support.hpp"
#include "sealport/core/clock.hpp"
#include "sealport/core/crypto.hpp"
#include "sealport/core/secret.hpp"
#include "sealport/state/audit.hpp"
#include "sealport/state/database.hpp"

namespace sealport::statetest {

inline core::SecretBytes filledKey(std::uint8_t fill) {
    return core::SecretBytes(std::vector<std::uint8_t>(32, fill));
}

// 2026-11-28T17:47:58.123Z
inline core::SystemTime fixedStart() {
    return core::SystemTime(std::chrono::duration_cast<core::SystemTime::duration>(
        std::chrono::milliseconds(1795888078123)));
}

inline state::Database openMigrated(const std::filesystem::path& path,
                                    const core::SecretBytes& key) {
    state::Database db = state::Database::open(path, key);
    state::migrate(db);
    return db;
}

inline state::Actor securityOfficer() {
    return state::Actor{1001U, 4242, "security"};
}

struct AuditHarness {
    explicit AuditHarness(unsigned checkpointEvery = 5)
        : dir("sealport-state-test")
        , key(filledKey(0x42))
        , db(openMigrated(dir / "state.db", key))
        , clock(fixedStart())
        , seed(filledKey(0x5e))
        , signer(seed)
        , log(db, clock, signer, checkpointEvery) {}

    [[nodiscard]] std::filesystem::path dbPath() const { return dir / "state.db"; }

    // Appends `n` distinct successful entries, one virtual second apart.
    void appendEntries(int n) {
        for (int i = 0; i < n; ++i) {
            clock.advance(std::chrono::seconds(1));
            const auto next = log.entries() + 1;
            log.append(securityOfficer(), "test.action", "subject-" + std::to_string(next),
                       state::Outcome::success, nlohmann::json{{"n", next}});
        }
    }

    coretest::ScratchDir dir;
    core::SecretBytes key;
    state::Database db;
    core::ManualClock clock;
    core::SecretBytes seed;
    core::Ed25519Signer signer;
    state::AuditLog log;
};

// Runs a query that returns one integer.
inline std::int64_t queryInt(state::Database& db, std::string_view sql) {
    state::Statement s = db.prepare(sql);
    if (!s.step())
        throw std::runtime_error("no row for: " + std::string(sql));
    return s.integer(0);
}

inline std::string queryText(state::Database& db, std::string_view sql) {
    state::Statement s = db.prepare(sql);
    if (!s.step())
        throw std::runtime_error("no row for: " + std::string(sql));
    return s.text(0);
}

}  // namespace sealport::statetest
