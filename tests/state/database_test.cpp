#include <catch2/catch.hpp>

#include "state_test_support.hpp"

using Catch::Matchers::Contains;
using sealport::coretest::ScratchDir;
using sealport::state::Database;
using sealport::state::DbError;
using sealport::state::StateKeyError;
using sealport::statetest::filledKey;
using sealport::statetest::openMigrated;
using sealport::statetest::queryInt;
using sealport::statetest::queryText;

namespace {

void putMeta(Database& db, const std::string& key, const std::string& value) {
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
        .bind(1, key)
        .bind(2, value)
        .step();
}

std::optional<std::string> getMeta(Database& db, const std::string& key) {
    auto s = db.prepare("SELECT value FROM meta WHERE key = ?");
    s.bind(1, key);
    if (!s.step())
        return std::nullopt;
    return s.text(0);
}

std::string stateKeyErrorOf(const std::filesystem::path& path,
                            const sealport::core::SecretBytes& key) {
    try {
        (void)Database::open(path, key);
    } catch (const StateKeyError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a database opened with the wrong key is refused, and the right key reopens it",
          "[database]") {
    ScratchDir dir;
    const auto path = dir / "state.db";
    const auto right = filledKey(0x11);
    {
        Database db = openMigrated(path, right);
        putMeta(db, "greeting", "hello");
    }
    const auto wrong = GENERATE(as<std::uint8_t>{}, 0x12, 0x00, 0xff);
    CAPTURE(wrong);
    CHECK(stateKeyErrorOf(path, filledKey(wrong)) == "state cannot be decrypted with this key");

    Database again = Database::open(path, right);
    CHECK(getMeta(again, "greeting") == "hello");
}

TEST_CASE("a key differing in a single bit does not open the database", "[database]") {
    ScratchDir dir;
    const auto path = dir / "state.db";
    std::vector<std::uint8_t> raw(32);
    for (std::size_t i = 0; i < raw.size(); ++i)
        raw[i] = static_cast<std::uint8_t>(i * 13 + 1);
    { Database db = openMigrated(path, sealport::core::SecretBytes(raw)); }
    raw[31] ^= 0x01;
    CHECK_THROWS_AS(Database::open(path, sealport::core::SecretBytes(raw)), StateKeyError);
}

TEST_CASE("a file that is not an SQLCipher database is refused as undecryptable", "[database]") {
    ScratchDir dir;
    const auto path = dir / "state.db";
    SECTION("random bytes") {
        std::vector<std::uint8_t> junk(4096);
        sealport::core::randomBytes(junk);
        sealport::coretest::writeFileBytes(path, junk);
    }
    SECTION("a plaintext SQLite database") {
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                nullptr) == SQLITE_OK);
        sealport::state::Sqlite3Ptr plain(raw);
        REQUIRE(sqlite3_exec(plain.get(), "CREATE TABLE t (x); INSERT INTO t VALUES (1);", nullptr,
                             nullptr, nullptr) == SQLITE_OK);
    }
    CHECK_THROWS_AS(Database::open(path, filledKey(0x11)), StateKeyError);
}

TEST_CASE("a database key that is not 32 bytes is refused", "[database]") {
    ScratchDir dir;
    const std::size_t size = GENERATE(0U, 16U, 31U, 33U, 64U);
    CAPTURE(size);
    CHECK_THROWS_AS(Database::open(dir / "state.db", sealport::core::SecretBytes(size)),
                    std::invalid_argument);
    CHECK_FALSE(std::filesystem::exists(dir / "state.db"));
}

TEST_CASE("a state file that is a symlink is refused", "[database]") {
    ScratchDir dir;
    const auto real = dir / "elsewhere.db";
    { Database db = openMigrated(real, filledKey(0x11)); }
    std::filesystem::create_symlink(real, dir / "state.db");
    CHECK_THROWS_WITH(Database::open(dir / "state.db", filledKey(0x11)), Contains("symlink"));
}

TEST_CASE("open sets the pragmas that keep data encrypted and durable", "[database]") {
    ScratchDir dir;
    Database db = Database::open(dir / "state.db", filledKey(0x11));
    CHECK(queryInt(db, "PRAGMA temp_store") == 2);  // MEMORY: no plaintext temp files
    CHECK(queryText(db, "PRAGMA journal_mode") == "wal");
    CHECK(queryInt(db, "PRAGMA synchronous") == 2);  // FULL
    CHECK(queryInt(db, "PRAGMA foreign_keys") == 1);
    CHECK(queryInt(db, "PRAGMA secure_delete") == 1);
    CHECK(db.integrityCheck() == "ok");
}

TEST_CASE("migrate creates the schema and sets user_version", "[database][migrate]") {
    ScratchDir dir;
    Database db = Database::open(dir / "state.db", filledKey(0x11));
    CHECK(queryInt(db, "PRAGMA user_version") == 0);
    sealport::state::migrate(db);
    CHECK(queryInt(db, "PRAGMA user_version") == sealport::state::kSchemaVersion);
    for (const char* table : {"meta", "audit", "audit_checkpoint", "mode_record"}) {
        CAPTURE(table);
        auto s = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
        s.bind(1, std::string_view(table));
        REQUIRE(s.step());
        CHECK(s.integer(0) == 1);
    }
    CHECK(queryInt(db,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE "
                   "'audit_append_only_%'") == 2);
}

TEST_CASE("migrate is idempotent and keeps the data", "[database][migrate]") {
    ScratchDir dir;
    const auto path = dir / "state.db";
    {
        Database db = openMigrated(path, filledKey(0x11));
        putMeta(db, "k", "v");
        sealport::state::migrate(db);
        sealport::state::migrate(db);
        CHECK(queryInt(db, "PRAGMA user_version") == sealport::state::kSchemaVersion);
    }
    Database db = openMigrated(path, filledKey(0x11));
    CHECK(queryInt(db, "PRAGMA user_version") == sealport::state::kSchemaVersion);
    CHECK(getMeta(db, "k") == "v");
    CHECK(queryInt(db, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'") == 1);
}

TEST_CASE("a database from a newer schema is refused and left untouched", "[database][migrate]") {
    ScratchDir dir;
    const auto path = dir / "state.db";
    const int newer = GENERATE(sealport::state::kSchemaVersion + 1, 99);
    CAPTURE(newer);
    {
        Database db = openMigrated(path, filledKey(0x11));
        putMeta(db, "k", "v");
        db.exec("PRAGMA user_version = " + std::to_string(newer));
    }
    Database db = Database::open(path, filledKey(0x11));
    CHECK_THROWS_WITH(sealport::state::migrate(db),
                      Contains("newer sealport") && Contains("schema " + std::to_string(newer)));
    CHECK(queryInt(db, "PRAGMA user_version") == newer);
    CHECK(getMeta(db, "k") == "v");
}

TEST_CASE("an uncommitted transaction rolls back", "[database][transaction]") {
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    {
        Database::Transaction tx(db);
        CHECK(db.inTransaction());
        putMeta(db, "lost", "1");
        CHECK(getMeta(db, "lost") == "1");
    }
    CHECK_FALSE(db.inTransaction());
    CHECK_FALSE(getMeta(db, "lost").has_value());
}

TEST_CASE("a committed transaction keeps its work", "[database][transaction]") {
    ScratchDir dir;
    const auto path = dir / "state.db";
    {
        Database db = openMigrated(path, filledKey(0x11));
        Database::Transaction tx(db);
        putMeta(db, "kept", "1");
        tx.commit();
        CHECK_FALSE(db.inTransaction());
    }
    Database db = Database::open(path, filledKey(0x11));
    CHECK(getMeta(db, "kept") == "1");
}

TEST_CASE("a transaction left by an exception rolls back", "[database][transaction]") {
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    try {
        Database::Transaction tx(db);
        putMeta(db, "lost", "1");
        throw std::runtime_error("boom");
    } catch (const std::runtime_error&) {
    }
    CHECK_FALSE(getMeta(db, "lost").has_value());
}

TEST_CASE("a nested transaction that rolls back keeps the outer one's work",
          "[database][transaction]") {
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    {
        Database::Transaction outer(db);
        putMeta(db, "outer", "1");
        {
            Database::Transaction inner(db);
            putMeta(db, "inner", "1");
            putMeta(db, "outer", "overwritten by inner");
        }
        CHECK(db.inTransaction());
        CHECK(getMeta(db, "outer") == "1");
        CHECK_FALSE(getMeta(db, "inner").has_value());
        {
            Database::Transaction inner2(db);
            putMeta(db, "inner2", "1");
            inner2.commit();
        }
        outer.commit();
    }
    CHECK(getMeta(db, "outer") == "1");
    CHECK_FALSE(getMeta(db, "inner").has_value());
    CHECK(getMeta(db, "inner2") == "1");
}

TEST_CASE("a committed nested transaction is undone when the outer one rolls back",
          "[database][transaction]") {
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    {
        Database::Transaction outer(db);
        {
            Database::Transaction inner(db);
            putMeta(db, "inner", "1");
            inner.commit();
        }
        CHECK(getMeta(db, "inner") == "1");
    }
    CHECK_FALSE(getMeta(db, "inner").has_value());
}

TEST_CASE("a failed statement reports the SQLite error code", "[database]") {
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    CHECK_THROWS_AS(db.prepare("SELECT nope FROM nowhere"), DbError);
    putMeta(db, "k", "v");
    try {
        db.prepare("INSERT INTO meta (key, value) VALUES ('k', 'again')").step();
        FAIL("a duplicate primary key was accepted");
    } catch (const DbError& e) {
        CHECK(e.code() == SQLITE_CONSTRAINT);
    }
}

TEST_CASE("afterCommit runs at once outside a transaction", "[database][transaction]") {
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    int runs = 0;
    db.afterCommit([&] { ++runs; });
    CHECK(runs == 1);
}

TEST_CASE("afterCommit waits for the outermost commit", "[database][transaction]") {
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    std::vector<std::string> seen;
    {
        Database::Transaction outer(db);
        putMeta(db, "k", "v");
        db.afterCommit([&] { seen.push_back("first:" + getMeta(db, "k").value_or("?")); });
        {
            Database::Transaction inner(db);
            db.afterCommit([&] { seen.push_back("second"); });
            inner.commit();
        }
        CHECK(seen.empty());  // a released savepoint is not a commit
        outer.commit();
    }
    CHECK(seen == std::vector<std::string>{"first:v", "second"});
}

TEST_CASE("afterCommit work is dropped when the transaction rolls back",
          "[database][transaction]") {
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    int runs = 0;
    {
        Database::Transaction tx(db);
        db.afterCommit([&] { ++runs; });
    }
    CHECK(runs == 0);
    // And it does not come back with the next commit.
    {
        Database::Transaction tx(db);
        tx.commit();
    }
    CHECK(runs == 0);
}

TEST_CASE("afterCommit work of a rolled-back savepoint is dropped",
          "[database][transaction][bug]") {
    // An audit entry appended inside a nested transaction that rolls back is
    // gone from the database; its journal mirror must not be sent when the
    // outer transaction commits, or the journal names an entry that never was.
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    std::vector<std::string> seen;
    {
        Database::Transaction outer(db);
        db.afterCommit([&] { seen.push_back("outer"); });
        {
            Database::Transaction inner(db);
            db.afterCommit([&] { seen.push_back("rolled back"); });
        }
        outer.commit();
    }
    CHECK(seen == std::vector<std::string>{"outer"});
}

TEST_CASE("a throwing afterCommit action does not undo the commit", "[database][transaction]") {
    ScratchDir dir;
    Database db = openMigrated(dir / "state.db", filledKey(0x11));
    bool laterRan = false;
    {
        Database::Transaction tx(db);
        putMeta(db, "k", "v");
        db.afterCommit([] { throw std::runtime_error("journal down"); });
        db.afterCommit([&] { laterRan = true; });
        CHECK_NOTHROW(tx.commit());
    }
    CHECK(laterRan);
    CHECK(getMeta(db, "k") == "v");
    CHECK_FALSE(db.inTransaction());
}
