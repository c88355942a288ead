#include <catch2/catch.hpp>

#include "state_test_support.hpp"

using Catch::Matchers::Contains;
using sealport::core::toHex;
using sealport::state::AuditRecord;
using sealport::state::Outcome;
using sealport::statetest::AuditHarness;
using sealport::statetest::queryInt;
using sealport::statetest::securityOfficer;

namespace {

std::vector<std::int64_t> checkpointSeqs(sealport::state::Database& db) {
    std::vector<std::int64_t> out;
    auto s = db.prepare("SELECT seq FROM audit_checkpoint ORDER BY seq");
    while (s.step())
        out.push_back(s.integer(0));
    return out;
}

}  // namespace

TEST_CASE("the first entry has seq 1 and links to the zero hash", "[audit][log]") {
    AuditHarness h;
    const AuditRecord r = h.log.append(securityOfficer(), "incident.enter", "mode",
                                       Outcome::success, nlohmann::json{{"reason", "drill"}});
    CHECK(r.seq == 1);
    CHECK(r.prevHash == sealport::core::Sha256Digest{});
    CHECK(r.time == "2026-11-28T17:47:58.123Z");
    CHECK(r.details == R"({"reason":"drill"})");
    CHECK(r.hash == sealport::state::entryHash(r));
    CHECK(h.log.entries() == 1);
}

TEST_CASE("each entry chains to the hash of the one before", "[audit][log]") {
    AuditHarness h(100);
    std::vector<AuditRecord> appended;
    for (int i = 0; i < 6; ++i) {
        h.clock.advance(std::chrono::milliseconds(250));
        appended.push_back(h.log.append(securityOfficer(), "a" + std::to_string(i), "s",
                                        Outcome::refused, nlohmann::json::object()));
    }
    for (std::size_t i = 0; i < appended.size(); ++i) {
        CAPTURE(i);
        CHECK(appended[i].seq == static_cast<std::int64_t>(i + 1));
        if (i > 0)
            CHECK(appended[i].prevHash == appended[i - 1].hash);
    }
    // What was stored is what was returned.
    const auto stored = h.log.tail(6);
    REQUIRE(stored.size() == 6);
    for (std::size_t i = 0; i < stored.size(); ++i) {
        CAPTURE(i);
        CHECK(stored[i].seq == appended[i].seq);
        CHECK(stored[i].time == appended[i].time);
        CHECK(stored[i].actor == appended[i].actor);
        CHECK(stored[i].action == appended[i].action);
        CHECK(stored[i].outcome == Outcome::refused);
        CHECK(stored[i].details == "{}");
        CHECK(stored[i].prevHash == appended[i].prevHash);
        CHECK(stored[i].hash == appended[i].hash);
    }
    CHECK(stored[5].time == "2026-11-28T17:47:59.623Z");
}

TEST_CASE("details are stored as compact JSON with sorted keys", "[audit][log]") {
    AuditHarness h;
    const auto r =
        h.log.append(securityOfficer(), "x", "y", Outcome::success,
                     nlohmann::json{{"zeta", 1}, {"alpha", "a b"}, {"mid", {{"b", 2}, {"a", 1}}}});
    CHECK(r.details == R"({"alpha":"a b","mid":{"a":1,"b":2},"zeta":1})");
    CHECK(h.log.append(securityOfficer(), "x", "y", Outcome::success, nlohmann::json()).details ==
          "{}");
}

TEST_CASE("a daemon actor carries this process's uid and pid", "[audit][log]") {
    const auto a = sealport::state::Actor::daemon();
    CHECK(a.uid == static_cast<std::uint32_t>(::getuid()));
    CHECK(a.pid == static_cast<std::int32_t>(::getpid()));
    CHECK(a.role == "daemon");
}

TEST_CASE("an actor without uid and pid is stored as such", "[audit][log]") {
    AuditHarness h;
    h.log.append(sealport::state::Actor{std::nullopt, std::nullopt, "none"}, "x", "y",
                 Outcome::refused, nullptr);
    CHECK(queryInt(h.db,
                   "SELECT count(*) FROM audit WHERE actor_uid IS NULL AND actor_pid IS NULL") ==
          1);
    const auto r = h.log.tail(1).at(0);
    CHECK_FALSE(r.actor.uid.has_value());
    CHECK_FALSE(r.actor.pid.has_value());
    CHECK(h.log.verify().ok);
}

TEST_CASE("a checkpoint is signed every N entries", "[audit][log][checkpoint]") {
    AuditHarness h(5);
    h.appendEntries(4);
    CHECK(checkpointSeqs(h.db).empty());
    h.appendEntries(1);
    CHECK(checkpointSeqs(h.db) == std::vector<std::int64_t>{5});
    h.appendEntries(7);
    CHECK(checkpointSeqs(h.db) == std::vector<std::int64_t>{5, 10});

    // Each checkpoint is the entry's hash, signed by this key over the documented message.
    auto s = h.db.prepare(
        "SELECT c.seq, c.time, c.hash, c.key_fingerprint, c.signature, a.hash "
        "FROM audit_checkpoint c JOIN audit a ON a.seq = c.seq ORDER BY c.seq");
    int rows = 0;
    while (s.step()) {
        ++rows;
        const auto hashBlob = s.blob(2);
        CHECK(hashBlob == s.blob(5));
        CHECK(s.text(3) == h.signer.fingerprint());
        sealport::core::Sha256Digest hash{};
        REQUIRE(hashBlob.size() == hash.size());
        std::copy(hashBlob.begin(), hashBlob.end(), hash.begin());
        CHECK(sealport::core::ed25519Verify(
            h.signer.publicKey(), sealport::state::checkpointMessage(s.integer(0), hash, s.text(1)),
            s.blob(4)));
    }
    CHECK(rows == 2);
}

TEST_CASE("checkpoint() signs the head once", "[audit][log][checkpoint]") {
    AuditHarness h(5);
    h.appendEntries(12);
    REQUIRE(checkpointSeqs(h.db) == std::vector<std::int64_t>{5, 10});
    h.log.checkpoint();
    CHECK(checkpointSeqs(h.db) == std::vector<std::int64_t>{5, 10, 12});
    auto read = [&] {
        auto s = h.db.prepare("SELECT time, signature FROM audit_checkpoint WHERE seq = 12");
        REQUIRE(s.step());
        return s.text(0) + "/" + toHex(s.blob(1));
    };
    const std::string before = read();
    h.clock.advance(std::chrono::hours(1));
    h.log.checkpoint();
    CHECK(checkpointSeqs(h.db) == std::vector<std::int64_t>{5, 10, 12});
    CHECK(read() == before);  // not re-signed at a later time
    CHECK_FALSE(h.db.inTransaction());
}

TEST_CASE("checkpoint() on an empty log or a checkpointed head does nothing",
          "[audit][log][checkpoint]") {
    AuditHarness h(5);
    h.log.checkpoint();
    CHECK(checkpointSeqs(h.db).empty());
    CHECK_FALSE(h.db.inTransaction());
    h.appendEntries(5);
    h.log.checkpoint();
    CHECK(checkpointSeqs(h.db) == std::vector<std::int64_t>{5});
}

TEST_CASE("verify accepts an intact chain and counts entries and checkpoints",
          "[audit][log][verify]") {
    AuditHarness h(5);
    SECTION("empty") {
        const auto v = h.log.verify();
        CHECK(v.ok);
        CHECK(v.entries == 0);
        CHECK(v.checkpoints == 0);
        CHECK_FALSE(v.firstBad.has_value());
        CHECK(v.reason.empty());
    }
    SECTION("twelve entries, checkpoints at 5 and 10") {
        h.appendEntries(12);
        const auto v = h.log.verify();
        CHECK(v.ok);
        CHECK(v.entries == 12);
        CHECK(v.checkpoints == 2);
        CHECK_FALSE(v.firstBad.has_value());
        const auto j = v.toJson();
        CHECK(j.at("ok") == true);
        CHECK(j.at("entries") == 12);
        CHECK(j.at("first_bad").is_null());
        CHECK_FALSE(j.contains("reason"));
    }
    SECTION("after a final checkpoint") {
        h.appendEntries(12);
        h.log.checkpoint();
        const auto v = h.log.verify();
        CHECK(v.ok);
        CHECK(v.checkpoints == 3);
    }
}

TEST_CASE("verify survives closing and reopening the database", "[audit][log][verify]") {
    AuditHarness h(5);
    h.appendEntries(7);
    auto reopened = sealport::state::Database::open(h.dbPath(), h.key);
    sealport::state::AuditLog log(reopened, h.clock, h.signer, 5);
    const auto v = log.verify();
    CHECK(v.ok);
    CHECK(v.entries == 7);
    CHECK(v.checkpoints == 1);
    // And appending continues the same chain.
    const auto r = log.append(securityOfficer(), "x", "y", Outcome::success, nullptr);
    CHECK(r.seq == 8);
    CHECK(log.verify().ok);
}

TEST_CASE("checkpoints from another signing key fail verification", "[audit][log][verify]") {
    AuditHarness h(5);
    h.appendEntries(6);
    const sealport::core::Ed25519Signer other(sealport::statetest::filledKey(0x77));
    sealport::state::AuditLog withOtherKey(h.db, h.clock, other, 5);
    const auto v = withOtherKey.verify();
    CHECK_FALSE(v.ok);
    CHECK(v.firstBad == 5);
    CHECK_THAT(v.reason, Contains("unknown key"));
}

TEST_CASE("the audit table refuses UPDATE and DELETE", "[audit][log]") {
    AuditHarness h(5);
    h.appendEntries(3);
    CHECK_THROWS_WITH(h.db.exec("UPDATE audit SET subject = 'x' WHERE seq = 2"),
                      Contains("append-only"));
    CHECK_THROWS_WITH(h.db.exec("DELETE FROM audit WHERE seq = 3"), Contains("append-only"));
    CHECK_THROWS_WITH(h.db.exec("DELETE FROM audit"), Contains("append-only"));
    CHECK(h.log.entries() == 3);
    CHECK(h.log.verify().ok);
}

TEST_CASE("append inside a caller's transaction is undone with it", "[audit][log]") {
    AuditHarness h(5);
    h.appendEntries(2);
    {
        sealport::state::Database::Transaction tx(h.db);
        h.log.append(securityOfficer(), "x", "y", Outcome::success, nullptr);
        CHECK(h.log.entries() == 3);
    }
    CHECK(h.log.entries() == 2);
    const auto r = h.log.append(securityOfficer(), "x", "y", Outcome::success, nullptr);
    CHECK(r.seq == 3);
    CHECK(h.log.verify().ok);
}

TEST_CASE("tail returns the last entries in order", "[audit][log]") {
    AuditHarness h(5);
    h.appendEntries(4);
    const auto t = h.log.tail(2);
    REQUIRE(t.size() == 2);
    CHECK(t[0].seq == 3);
    CHECK(t[1].seq == 4);
    CHECK(t[1].subject == "subject-4");
    CHECK(h.log.tail(10).size() == 4);
    CHECK(h.log.tail(0).empty());
}
