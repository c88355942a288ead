#include "sealport/state/state.hpp"

#include <catch2/catch.hpp>

#include "sealport/core/keys.hpp"
#include "state_test_support.hpp"

using sealport::coretest::modeOf;
using sealport::coretest::ScratchDir;
using sealport::policy::Mode;
using sealport::state::ModeRecord;
using sealport::state::State;
using sealport::state::StateKeyError;

namespace {

sealport::core::KeyRing ringFor(std::uint8_t fill) {
    return sealport::core::deriveKeyRing(sealport::statetest::filledKey(fill));
}

}  // namespace

TEST_CASE("opening a fresh directory creates the state, reopening finds it", "[state]") {
    ScratchDir dir;
    const auto keys = ringFor(0x01);
    sealport::core::ManualClock clock(sealport::statetest::fixedStart());
    const auto stateDir = dir / "state";
    {
        State state(stateDir, keys, clock, 5);
        CHECK(state.created());
        CHECK(state.databasePath() == stateDir / "state.db");
        state.audit().append(sealport::state::Actor::daemon(), "daemon.start", "",
                             sealport::state::Outcome::success, nullptr);
    }
    State again(stateDir, keys, clock, 5);
    CHECK_FALSE(again.created());
    CHECK(again.audit().entries() == 1);
    CHECK(again.audit().verify().ok);
}

TEST_CASE("the state directory is private to the daemon", "[state]") {
    ScratchDir dir;
    sealport::core::ManualClock clock(sealport::statetest::fixedStart());
    const auto stateDir = dir / "state";
    SECTION("created 0700") {
        State state(stateDir, ringFor(0x01), clock, 5);
        CHECK(modeOf(stateDir) == 0700);
    }
    SECTION("an existing 0755 directory is tightened") {
        std::filesystem::create_directory(stateDir);
        std::filesystem::permissions(stateDir, std::filesystem::perms(0755));
        State state(stateDir, ringFor(0x01), clock, 5);
        CHECK(modeOf(stateDir) == 0700);
    }
}

TEST_CASE("the state files are not readable by group or others", "[state][bug]") {
    // The directory is 0700 today, but a backup, a copy or a later chmod of
    // the directory must not expose a world-readable database file.
    ScratchDir dir;
    sealport::core::ManualClock clock(sealport::statetest::fixedStart());
    const auto stateDir = dir / "state";
    State state(stateDir, ringFor(0x01), clock, 5);
    state.audit().append(sealport::state::Actor::daemon(), "daemon.start", "",
                         sealport::state::Outcome::success, nullptr);
    for (const char* name : {"state.db", "state.db-wal", "state.db-shm"}) {
        const auto path = stateDir / name;
        if (!std::filesystem::exists(path))
            continue;
        CAPTURE(name, modeOf(path));
        CHECK((modeOf(path) & 077) == 0);
    }
}

TEST_CASE("the state refuses a master key that does not decrypt it", "[state]") {
    ScratchDir dir;
    sealport::core::ManualClock clock(sealport::statetest::fixedStart());
    const auto stateDir = dir / "state";
    { State state(stateDir, ringFor(0x01), clock, 5); }
    CHECK_THROWS_AS(State(stateDir, ringFor(0x02), clock, 5), StateKeyError);
    State state(stateDir, ringFor(0x01), clock, 5);
    CHECK_FALSE(state.created());
}

TEST_CASE("the state signs with the signing key of its key ring", "[state]") {
    ScratchDir dir;
    sealport::core::ManualClock clock(sealport::statetest::fixedStart());
    const auto keys = ringFor(0x01);
    State state(dir / "state", keys, clock, 5);
    const sealport::core::Ed25519Signer expected(keys.signing);
    CHECK(state.signer().publicKey() == expected.publicKey());
    CHECK(state.signer().fingerprint() == expected.fingerprint());
}

namespace {

ModeRecord modeRecord(Mode mode, std::int64_t sinceMs, std::string reason, std::int64_t auditSeq,
                      std::vector<sealport::policy::Approval> approvals = {}) {
    ModeRecord r;
    r.state.mode = mode;
    r.state.since = sealport::state::fromMillis(sinceMs);
    r.state.reason = std::move(reason);
    r.state.approvals = std::move(approvals);
    r.auditSeq = auditSeq;
    return r;
}

}  // namespace

TEST_CASE("a saved mode record loads back field for field", "[state][mode]") {
    ScratchDir dir;
    auto db =
        sealport::statetest::openMigrated(dir / "state.db", sealport::statetest::filledKey(0x01));
    const Mode mode = GENERATE(Mode::online, Mode::incident);
    CAPTURE(sealport::policy::toString(mode));
    const ModeRecord saved = modeRecord(mode, 1795888078123, "ransomware drill", 17,
                                        {{1001U, sealport::state::fromMillis(1795888079000)}});
    sealport::state::saveModeRecord(db, saved);
    const auto loaded = sealport::state::loadModeRecord(db);
    REQUIRE(loaded.has_value());
    CHECK(loaded->state == saved.state);
    CHECK(loaded->state.mode == mode);
    CHECK(sealport::core::formatUtc(loaded->state.since) == "2026-11-28T17:47:58.123Z");
    CHECK(loaded->state.reason == "ransomware drill");
    CHECK(loaded->state.approvals.size() == 1);
    CHECK(loaded->auditSeq == 17);
    // The human-readable time is stored next to the exact one.
    CHECK(sealport::statetest::queryText(db, "SELECT since FROM mode_record") ==
          "2026-11-28T17:47:58.123Z");
}

TEST_CASE("saving a mode record replaces the previous one and its approvals", "[state][mode]") {
    ScratchDir dir;
    const auto path = dir / "state.db";
    const auto key = sealport::statetest::filledKey(0x01);
    {
        auto db = sealport::statetest::openMigrated(path, key);
        sealport::state::saveModeRecord(db,
                                        modeRecord(Mode::incident, 1000, "start", 1,
                                                   {{1001U, sealport::state::fromMillis(2000)}}));
        sealport::state::saveModeRecord(db, modeRecord(Mode::online, 5000, "recovered", 9));
        CHECK(sealport::statetest::queryInt(db, "SELECT count(*) FROM mode_record") == 1);
    }
    auto db = sealport::statetest::openMigrated(path, key);
    const auto loaded = sealport::state::loadModeRecord(db);
    REQUIRE(loaded.has_value());
    CHECK(loaded->state.mode == Mode::online);
    CHECK(sealport::state::toMillis(loaded->state.since) == 5000);
    CHECK(loaded->state.reason == "recovered");
    CHECK(loaded->state.approvals.empty());
    CHECK(loaded->auditSeq == 9);
}

TEST_CASE("a missing mode record loads as nothing", "[state][mode]") {
    ScratchDir dir;
    auto db =
        sealport::statetest::openMigrated(dir / "state.db", sealport::statetest::filledKey(0x01));
    CHECK_FALSE(sealport::state::loadModeRecord(db).has_value());
}

TEST_CASE("a mode record with an unknown mode loads as nothing, so the caller fails secure",
          "[state][mode]") {
    const std::string stored =
        GENERATE(as<std::string>{}, "panic", "", "Online", "INCIDENT", "online ");
    CAPTURE(stored);
    ScratchDir dir;
    auto db =
        sealport::statetest::openMigrated(dir / "state.db", sealport::statetest::filledKey(0x01));
    sealport::state::saveModeRecord(db, modeRecord(Mode::online, 1000, "r", 1));
    REQUIRE(sealport::state::loadModeRecord(db).has_value());
    db.prepare("UPDATE mode_record SET mode = ? WHERE id = 1").bind(1, stored).step();
    CHECK_FALSE(sealport::state::loadModeRecord(db).has_value());
}

TEST_CASE("a mode record is checked against the audit entry it names", "[state][mode]") {
    sealport::statetest::AuditHarness h;
    const auto officer = sealport::statetest::securityOfficer();
    using sealport::state::Outcome;
    h.log.append(officer, "incident.enter", "mode", Outcome::success,
                 nlohmann::json{{"mode", "incident"}, {"record_written", true}});  // 1
    h.log.append(officer, "link.create", "L1", Outcome::success,
                 nlohmann::json{{"mode", "online"}});  // 2
    const auto check = [&](Mode mode, std::int64_t seq) {
        return sealport::state::checkModeRecordAgainstAudit(h.db, modeRecord(mode, 0, "r", seq));
    };
    CHECK_FALSE(check(Mode::incident, 1).has_value());
    CHECK_THAT(check(Mode::online, 1).value_or(""), Catch::Matchers::Contains("says online"));
    CHECK_THAT(check(Mode::online, 2).value_or(""), Catch::Matchers::Contains("not a mode change"));
    CHECK_THAT(check(Mode::incident, 3).value_or(""), Catch::Matchers::Contains("missing"));

    SECTION("an older record put back after a newer one was written is refused") {
        h.log.append(officer, "incident.exit", "mode", Outcome::success,
                     nlohmann::json{{"mode", "online"}, {"record_written", true}});  // 3
        CHECK_FALSE(check(Mode::online, 3).has_value());
        CHECK_THAT(check(Mode::incident, 1).value_or(""),
                   Catch::Matchers::Contains("latest mode record was written at entry 3"));
    }
    SECTION("a mode entry that did not write the record does not vouch for it") {
        h.log.append(officer, "incident.exit", "mode", Outcome::refused,
                     nlohmann::json{{"mode", "incident"}});  // 3
        CHECK_FALSE(check(Mode::incident, 1).has_value());
        CHECK(check(Mode::incident, 3).has_value());
    }
}

TEST_CASE("a state directory that holds files but no database is not new", "[state]") {
    // Someone deleted state.db: the daemon must not treat this as a first start.
    ScratchDir dir;
    sealport::core::ManualClock clock(sealport::statetest::fixedStart());
    const auto stateDir = dir / "state";
    std::filesystem::create_directory(stateDir);
    std::filesystem::permissions(stateDir, std::filesystem::perms(0700));
    SECTION("an empty directory is new") {
        State state(stateDir, ringFor(0x01), clock, 5);
        CHECK(state.created());
    }
    SECTION("a directory with a leftover file is not") {
        sealport::coretest::writeFileText(stateDir / "blobs.idx", "x");
        State state(stateDir, ringFor(0x01), clock, 5);
        CHECK_FALSE(state.created());
        CHECK_FALSE(sealport::state::loadModeRecord(state.db()).has_value());
    }
}
