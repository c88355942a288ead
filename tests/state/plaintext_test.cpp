#include <catch2/catch.hpp>

#include "sealport/core/keys.hpp"
#include "sealport/state/state.hpp"
#include "state_test_support.hpp"

using sealport::coretest::fileContainsText;
using sealport::coretest::ScratchDir;
using sealport::state::Outcome;

// Patient data must never reach the disk in plaintext: not in the database
// file, not in the write-ahead log that holds the most recent transactions.

namespace {

const std::string kPatientCanary = "Muller^Jose-PLAINTEXT-CANARY";
const std::string kUidCanary = "1.2.826.0.1.3680043.CANARY";
const std::string kMetaCanary = "meta-value-PLAINTEXT-CANARY";

std::vector<std::filesystem::path> databaseFiles(const std::filesystem::path& db) {
    std::vector<std::filesystem::path> files{db};
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        const std::filesystem::path p = db.string() + suffix;
        if (std::filesystem::exists(p))
            files.push_back(p);
    }
    return files;
}

void writeCanaries(sealport::state::State& state) {
    auto& audit = state.audit();
    audit.append(sealport::statetest::securityOfficer(), "media.export", kUidCanary,
                 Outcome::success,
                 nlohmann::json{{"patient", kPatientCanary}, {"study_uid", kUidCanary}});
    auto event = audit.begin(sealport::statetest::securityOfficer(), "link.create", kUidCanary);
    event.detail("recipient", kPatientCanary).succeed();
    state.db()
        .prepare("INSERT INTO meta (key, value) VALUES (?, ?)")
        .bind(1, std::string_view("canary"))
        .bind(2, kMetaCanary)
        .step();
    sealport::state::ModeRecord record;
    record.state.mode = sealport::policy::Mode::online;
    record.state.since = sealport::statetest::fixedStart();
    record.state.reason = "drill for " + kPatientCanary;
    record.auditSeq = 1;
    sealport::state::saveModeRecord(state.db(), record);
}

}  // namespace

TEST_CASE("the canary search finds the text in a plain file in every encoding",
          "[plaintext][control]") {
    ScratchDir dir;
    const std::string text = GENERATE(kPatientCanary, kUidCanary, kMetaCanary);
    CAPTURE(text);
    SECTION("UTF-8") {
        sealport::coretest::writeFileText(dir / "plain.txt", "prefix " + text + " suffix");
    }
    SECTION("UTF-16LE") {
        auto bytes = sealport::coretest::utf16le("x" + text + "y");
        sealport::coretest::writeFileBytes(dir / "plain.txt", bytes);
    }
    SECTION("UTF-16BE") {
        auto bytes = sealport::coretest::utf16be("x" + text + "y");
        sealport::coretest::writeFileBytes(dir / "plain.txt", bytes);
    }
    CHECK(fileContainsText(dir / "plain.txt", text));
    CHECK_FALSE(fileContainsText(dir / "plain.txt", text + "-NOT-WRITTEN"));
}

TEST_CASE("the canary search finds the text in an unencrypted SQLite database and its WAL",
          "[plaintext][control]") {
    // The same SQLite library without a key writes plaintext: the search would see a leak.
    ScratchDir dir;
    const auto path = dir / "plain.db";
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            nullptr) == SQLITE_OK);
    sealport::state::Sqlite3Ptr plain(raw);
    REQUIRE(sqlite3_exec(plain.get(), "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    const std::string sql =
        "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('" + kPatientCanary + "');";
    REQUIRE(sqlite3_exec(plain.get(), sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    const std::filesystem::path wal = path.string() + "-wal";
    REQUIRE(std::filesystem::exists(wal));
    CHECK(fileContainsText(wal, kPatientCanary));
    plain.reset();  // closing checkpoints the WAL into the main file
    CHECK(fileContainsText(path, kPatientCanary));
}

TEST_CASE("patient data written through the store is not on disk in plaintext", "[plaintext]") {
    ScratchDir dir;
    const sealport::core::SecretBytes master = sealport::statetest::filledKey(0x6d);
    const auto keys = sealport::core::deriveKeyRing(master);
    sealport::core::ManualClock clock(sealport::statetest::fixedStart());
    const auto stateDir = dir / "state";
    const auto dbPath = stateDir / "state.db";
    {
        sealport::state::State state(stateDir, keys, clock, 1);
        writeCanaries(state);

        // The state is still open: the latest transactions sit in the WAL.
        const std::filesystem::path wal = dbPath.string() + "-wal";
        REQUIRE(std::filesystem::exists(wal));
        REQUIRE(std::filesystem::file_size(wal) > 0);
        // And they are really there (read back through the key).
        REQUIRE(state.audit().tail(1).at(0).subject == kUidCanary);

        for (const auto& file : databaseFiles(dbPath)) {
            for (const std::string& canary : {kPatientCanary, kUidCanary, kMetaCanary}) {
                CAPTURE(file, canary);
                CHECK_FALSE(fileContainsText(file, canary));
            }
        }
    }
    // Closed: the WAL has been folded into the database file.
    for (const auto& file : databaseFiles(dbPath)) {
        for (const std::string& canary : {kPatientCanary, kUidCanary, kMetaCanary}) {
            CAPTURE(file, canary);
            CHECK_FALSE(fileContainsText(file, canary));
        }
    }
    // Nothing else in the state directory holds it either.
    for (const auto& entry : std::filesystem::directory_iterator(stateDir)) {
        if (!entry.is_regular_file())
            continue;
        CAPTURE(entry.path());
        CHECK_FALSE(fileContainsText(entry.path(), kPatientCanary));
    }
}
