#include <catch2/catch.hpp>

#include "state_test_support.hpp"

using Catch::Matchers::Contains;
using sealport::state::Database;
using sealport::statetest::AuditHarness;

// An attacker who holds the database key edits the SQLCipher file directly
// (a second connection, as a tool would), after dropping the append-only
// triggers. verify() on the daemon's connection must notice, and name the
// first entry that can no longer be trusted.

namespace {

using Blob = std::vector<std::uint8_t>;

// 12 entries, checkpoints at 5 and 10; plus the attacker's connection.
struct Tampering {
    Tampering() : h(5) {
        h.appendEntries(12);
        REQUIRE(h.log.verify().ok);
        attacker = std::make_unique<Database>(Database::open(h.dbPath(), h.key));
        attacker->exec(
            "DROP TRIGGER audit_append_only_update; DROP TRIGGER audit_append_only_delete;");
    }

    Blob blob(const std::string& sql, std::int64_t seq) {
        auto s = attacker->prepare(sql);
        s.bind(1, seq);
        REQUIRE(s.step());
        return s.blob(0);
    }

    std::string text(const std::string& sql, std::int64_t seq) {
        auto s = attacker->prepare(sql);
        s.bind(1, seq);
        REQUIRE(s.step());
        return s.text(0);
    }

    void setBlob(const std::string& sql, std::int64_t seq, const Blob& value) {
        auto s = attacker->prepare(sql);
        s.bind(1, std::span<const std::uint8_t>(value)).bind(2, seq);
        s.step();
        REQUIRE(sqlite3_changes(attacker->handle()) == 1);
    }

    void setText(const std::string& sql, std::int64_t seq, const std::string& value) {
        auto s = attacker->prepare(sql);
        s.bind(1, value).bind(2, seq);
        s.step();
        REQUIRE(sqlite3_changes(attacker->handle()) == 1);
    }

    sealport::state::AuditVerification verify() { return h.log.verify(); }

    AuditHarness h;
    std::unique_ptr<Database> attacker;
};

void requireBadAt(const sealport::state::AuditVerification& v, std::int64_t seq) {
    CAPTURE(v.reason);
    CHECK_FALSE(v.ok);
    REQUIRE(v.firstBad.has_value());
    CHECK(*v.firstBad == seq);
    CHECK_FALSE(v.reason.empty());
    CHECK(v.toJson().at("first_bad") == seq);
}

}  // namespace

TEST_CASE("the append-only triggers refuse edits until they are dropped", "[audit][tamper]") {
    AuditHarness h(5);
    h.appendEntries(3);
    Database attacker = Database::open(h.dbPath(), h.key);
    CHECK_THROWS_WITH(attacker.exec("UPDATE audit SET subject = 'forged' WHERE seq = 2"),
                      Contains("append-only"));
    CHECK_THROWS_WITH(attacker.exec("DELETE FROM audit WHERE seq = 2"), Contains("append-only"));
    attacker.exec("DROP TRIGGER audit_append_only_update; DROP TRIGGER audit_append_only_delete;");
    attacker.exec("UPDATE audit SET subject = 'forged' WHERE seq = 2");
    CHECK(h.log.tail(3).at(1).subject == "forged");
}

TEST_CASE("a flipped byte in an entry's subject is found at that entry", "[audit][tamper]") {
    Tampering t;
    std::string subject = t.text("SELECT subject FROM audit WHERE seq = ?", 7);
    REQUIRE(subject == "subject-7");
    subject[0] = static_cast<char>(subject[0] ^ 0x01);
    t.setText("UPDATE audit SET subject = ? WHERE seq = ?", 7, subject);
    const auto v = t.verify();
    requireBadAt(v, 7);
    CHECK_THAT(v.reason, Contains("entry 7 does not match its hash"));
    CHECK(v.entries == 12);
}

TEST_CASE("any edited column of an entry is found at that entry", "[audit][tamper]") {
    const std::string column = GENERATE(as<std::string>{}, "time", "actor_uid", "actor_pid",
                                        "actor_role", "action", "details", "prev_hash");
    CAPTURE(column);
    Tampering t;
    if (column == "prev_hash") {
        Blob prev = t.blob("SELECT prev_hash FROM audit WHERE seq = ?", 7);
        prev[0] ^= 0x80;
        t.setBlob("UPDATE audit SET prev_hash = ? WHERE seq = ?", 7, prev);
    } else if (column == "actor_uid" || column == "actor_pid") {
        t.attacker->exec("UPDATE audit SET " + column + " = " + column + " + 1 WHERE seq = 7");
    } else {
        t.attacker->exec("UPDATE audit SET " + column + " = " + column + " || ' ' WHERE seq = 7");
    }
    requireBadAt(t.verify(), 7);
}

TEST_CASE("a changed stored hash is found at that entry", "[audit][tamper]") {
    Tampering t;
    Blob hash = t.blob("SELECT hash FROM audit WHERE seq = ?", 7);
    hash[31] ^= 0x01;
    t.setBlob("UPDATE audit SET hash = ? WHERE seq = ?", 7, hash);
    const auto v = t.verify();
    requireBadAt(v, 7);
}

TEST_CASE("a deleted entry is found where it is missing", "[audit][tamper]") {
    Tampering t;
    t.attacker->exec("DELETE FROM audit WHERE seq = 6");
    const auto v = t.verify();
    requireBadAt(v, 6);
    CHECK_THAT(v.reason, Contains("entry 6 is missing"));
    CHECK(v.entries == 11);
}

TEST_CASE("deleting the first entry is found at 1", "[audit][tamper]") {
    Tampering t;
    t.attacker->exec("DELETE FROM audit WHERE seq = 1");
    requireBadAt(t.verify(), 1);
}

TEST_CASE("entries cut off the end after a final checkpoint are found", "[audit][tamper]") {
    Tampering t;
    t.h.log.checkpoint();  // signs the head, entry 12
    REQUIRE(t.verify().checkpoints == 3);
    t.attacker->exec("DELETE FROM audit WHERE seq >= 11");
    const auto v = t.verify();
    // The entries left chain correctly; the signed checkpoint at 12 names what is gone.
    requireBadAt(v, 12);
    CHECK_THAT(v.reason, Contains("checkpoint at entry 12 covers an entry that is gone"));
    CHECK(v.entries == 10);
}

TEST_CASE("two entries swapped in place are found at the first of them", "[audit][tamper]") {
    Tampering t;
    t.attacker->exec(
        "CREATE TEMP TABLE swapped AS SELECT * FROM audit WHERE seq IN (3, 4);"
        "UPDATE audit SET "
        "  time = (SELECT time FROM swapped WHERE swapped.seq = 7 - audit.seq),"
        "  actor_uid = (SELECT actor_uid FROM swapped WHERE swapped.seq = 7 - audit.seq),"
        "  actor_pid = (SELECT actor_pid FROM swapped WHERE swapped.seq = 7 - audit.seq),"
        "  actor_role = (SELECT actor_role FROM swapped WHERE swapped.seq = 7 - audit.seq),"
        "  action = (SELECT action FROM swapped WHERE swapped.seq = 7 - audit.seq),"
        "  subject = (SELECT subject FROM swapped WHERE swapped.seq = 7 - audit.seq),"
        "  outcome = (SELECT outcome FROM swapped WHERE swapped.seq = 7 - audit.seq),"
        "  details = (SELECT details FROM swapped WHERE swapped.seq = 7 - audit.seq),"
        "  prev_hash = (SELECT prev_hash FROM swapped WHERE swapped.seq = 7 - audit.seq),"
        "  hash = (SELECT hash FROM swapped WHERE swapped.seq = 7 - audit.seq)"
        "WHERE seq IN (3, 4);"
        "DROP TABLE swapped;");
    REQUIRE(t.text("SELECT subject FROM audit WHERE seq = ?", 3) == "subject-4");
    REQUIRE(t.text("SELECT subject FROM audit WHERE seq = ?", 4) == "subject-3");
    requireBadAt(t.verify(), 3);
}

TEST_CASE("an unknown outcome string is found at its entry", "[audit][tamper]") {
    const std::string outcome = GENERATE(as<std::string>{}, "maybe", "SUCCESS", "", "success\n");
    CAPTURE(outcome);
    Tampering t;
    t.setText("UPDATE audit SET outcome = ? WHERE seq = ?", 4, outcome);
    requireBadAt(t.verify(), 4);
}

TEST_CASE("an outcome rewritten to another valid value is found", "[audit][tamper]") {
    Tampering t;
    t.setText("UPDATE audit SET outcome = ? WHERE seq = ?", 9, "failure");
    requireBadAt(t.verify(), 9);
}

TEST_CASE("a checkpoint signature replaced by random bytes is found at the checkpoint",
          "[audit][tamper]") {
    Tampering t;
    Blob forged(64);
    sealport::core::randomBytes(forged);
    t.setBlob("UPDATE audit_checkpoint SET signature = ? WHERE seq = ?", 10, forged);
    const auto v = t.verify();
    requireBadAt(v, 10);
    CHECK_THAT(v.reason, Contains("checkpoint at entry 10 has an invalid signature"));
}

TEST_CASE("a changed checkpoint hash is found at the checkpoint", "[audit][tamper]") {
    Tampering t;
    Blob hash = t.blob("SELECT hash FROM audit_checkpoint WHERE seq = ?", 10);
    hash[0] ^= 0x01;
    t.setBlob("UPDATE audit_checkpoint SET hash = ? WHERE seq = ?", 10, hash);
    requireBadAt(t.verify(), 10);
}

TEST_CASE("a changed checkpoint time is found at the checkpoint", "[audit][tamper]") {
    Tampering t;
    t.attacker->exec("UPDATE audit_checkpoint SET time = '2000-01-01T00:00:00.000Z' WHERE seq = 5");
    requireBadAt(t.verify(), 5);
}

TEST_CASE("a checkpoint signed by a different key is found at that checkpoint", "[audit][tamper]") {
    Tampering t;
    const sealport::core::Ed25519Signer forger(sealport::statetest::filledKey(0x99));
    const Blob entryHash = t.blob("SELECT hash FROM audit WHERE seq = ?", 8);
    sealport::core::Sha256Digest digest{};
    std::copy(entryHash.begin(), entryHash.end(), digest.begin());
    const std::string time = "2026-11-28T17:48:06.123Z";
    const Blob sig = forger.sign(sealport::state::checkpointMessage(8, digest, time));
    REQUIRE(sealport::core::ed25519Verify(
        forger.publicKey(), sealport::state::checkpointMessage(8, digest, time), sig));

    std::string claimedFingerprint;
    SECTION("naming the forger's key") {
        claimedFingerprint = forger.fingerprint();
    }
    SECTION("claiming the appliance's key") {
        claimedFingerprint = t.h.signer.fingerprint();
    }

    auto s = t.attacker->prepare(
        "INSERT INTO audit_checkpoint (seq, time, hash, key_fingerprint, signature) VALUES "
        "(?,?,?,?,?)");
    s.bind(1, std::int64_t{8}).bind(2, time).bind(3, std::span<const std::uint8_t>(entryHash));
    s.bind(4, claimedFingerprint).bind(5, std::span<const std::uint8_t>(sig));
    s.step();
    const auto v = t.verify();
    requireBadAt(v, 8);
    CHECK(v.checkpoints == 3);
}

TEST_CASE("a chain rewritten with recomputed hashes is caught by the next signed checkpoint",
          "[audit][tamper]") {
    Tampering t;
    // Without the signing key the attacker can still recompute every unkeyed hash from entry 7 on.
    auto records = t.h.log.tail(12);
    REQUIRE(records.size() == 12);
    records[6].subject = "subject-7-forged";
    for (std::size_t i = 6; i < records.size(); ++i) {
        if (i > 6)
            records[i].prevHash = records[i - 1].hash;
        records[i].hash = sealport::state::entryHash(records[i]);
        auto s = t.attacker->prepare(
            "UPDATE audit SET subject = ?, prev_hash = ?, hash = ? WHERE seq = ?");
        s.bind(1, records[i].subject)
            .bind(2, std::span<const std::uint8_t>(records[i].prevHash))
            .bind(3, std::span<const std::uint8_t>(records[i].hash))
            .bind(4, records[i].seq);
        s.step();
    }
    const auto v = t.verify();
    requireBadAt(v, 10);
    CHECK_THAT(v.reason, Contains("checkpoint at entry 10 does not match entry 10"));
}

TEST_CASE("a rewritten chain whose signed checkpoints were deleted is still found",
          "[audit][tamper][bug]") {
    // The checkpoints are what an attacker without the signing key cannot forge;
    // deleting them must not make a rewritten chain verify again.
    Tampering t;
    auto records = t.h.log.tail(12);
    records[6].subject = "subject-7-forged";
    for (std::size_t i = 6; i < records.size(); ++i) {
        if (i > 6)
            records[i].prevHash = records[i - 1].hash;
        records[i].hash = sealport::state::entryHash(records[i]);
        auto s = t.attacker->prepare(
            "UPDATE audit SET subject = ?, prev_hash = ?, hash = ? WHERE seq = ?");
        s.bind(1, records[i].subject)
            .bind(2, std::span<const std::uint8_t>(records[i].prevHash))
            .bind(3, std::span<const std::uint8_t>(records[i].hash))
            .bind(4, records[i].seq);
        s.step();
    }
    t.attacker->exec("DELETE FROM audit_checkpoint WHERE seq >= 10");
    const auto v = t.verify();
    CAPTURE(v.reason);
    CHECK_FALSE(v.ok);
    REQUIRE(v.firstBad.has_value());
    CHECK(*v.firstBad <= 10);
}
