#include <catch2/catch.hpp>

#include "state_test_support.hpp"

using sealport::state::Outcome;
using sealport::statetest::AuditHarness;
using sealport::statetest::securityOfficer;

// Audit fails closed: an event that is not completed records a failure.

namespace {

nlohmann::json detailsOf(const sealport::state::AuditRecord& r) {
    return nlohmann::json::parse(r.details);
}

}  // namespace

TEST_CASE("an event destroyed without completion records a failure, not completed",
          "[audit][event]") {
    AuditHarness h;
    {
        auto event = h.log.begin(securityOfficer(), "media.export", "study-1");
        event.detail("device", "/dev/sdb");
        CHECK(h.log.entries() == 0);  // nothing is written before the end
    }
    REQUIRE(h.log.entries() == 1);
    const auto r = h.log.tail(1).at(0);
    CHECK(r.outcome == Outcome::failure);
    CHECK(r.action == "media.export");
    CHECK(r.subject == "study-1");
    CHECK(r.actor == securityOfficer());
    CHECK(detailsOf(r) == nlohmann::json{{"device", "/dev/sdb"}, {"reason", "not completed"}});
    CHECK(h.log.verify().ok);
}

TEST_CASE("succeed() records success with the details added", "[audit][event]") {
    AuditHarness h;
    sealport::state::AuditRecord returned;
    {
        auto event = h.log.begin(securityOfficer(), "link.create", "study-2");
        event.detail("ttl_days", 7).detail("recipient", "Dr. Who");
        returned = event.succeed();
    }
    REQUIRE(h.log.entries() == 1);  // and nothing more when it goes out of scope
    const auto r = h.log.tail(1).at(0);
    CHECK(r.outcome == Outcome::success);
    CHECK(detailsOf(r) == nlohmann::json{{"recipient", "Dr. Who"}, {"ttl_days", 7}});
    CHECK(returned.hash == r.hash);
    CHECK(returned.seq == 1);
}

TEST_CASE("refuse() and fail() record their outcome and reason", "[audit][event]") {
    AuditHarness h;
    h.log.begin(securityOfficer(), "incident.exit", "mode").refuse("second approver is the first");
    h.log.begin(securityOfficer(), "media.export", "study-3").fail("read-back mismatch");
    const auto t = h.log.tail(2);
    REQUIRE(t.size() == 2);
    CHECK(t[0].outcome == Outcome::refused);
    CHECK(detailsOf(t[0]) == nlohmann::json{{"reason", "second approver is the first"}});
    CHECK(t[1].outcome == Outcome::failure);
    CHECK(detailsOf(t[1]) == nlohmann::json{{"reason", "read-back mismatch"}});
    CHECK(h.log.entries() == 2);
}

TEST_CASE("an event whose scope is left by an exception records a failure", "[audit][event]") {
    AuditHarness h;
    try {
        auto event = h.log.begin(securityOfficer(), "media.export", "study-4");
        event.detail("step", "writing");
        throw std::runtime_error("device vanished");
    } catch (const std::runtime_error&) {
    }
    REQUIRE(h.log.entries() == 1);
    const auto r = h.log.tail(1).at(0);
    CHECK(r.outcome == Outcome::failure);
    CHECK(detailsOf(r) == nlohmann::json{{"reason", "not completed"}, {"step", "writing"}});
}

TEST_CASE("a moved event records once, from where it was moved to", "[audit][event]") {
    AuditHarness h;
    {
        auto first = h.log.begin(securityOfficer(), "link.revoke", "L1");
        first.detail("by", "test");
        auto second = std::move(first);
        second.succeed();
    }
    REQUIRE(h.log.entries() == 1);
    const auto r = h.log.tail(1).at(0);
    CHECK(r.outcome == Outcome::success);
    CHECK(detailsOf(r) == nlohmann::json{{"by", "test"}});
}

TEST_CASE("a moved event that is not completed still records one failure", "[audit][event]") {
    AuditHarness h;
    {
        auto first = h.log.begin(securityOfficer(), "link.revoke", "L2");
        auto second = std::move(first);
    }
    REQUIRE(h.log.entries() == 1);
    CHECK(h.log.tail(1).at(0).outcome == Outcome::failure);
}

TEST_CASE("an event left by an exception inside a transaction still records the failure",
          "[audit][event][bug]") {
    // The natural shape of a command: one transaction for the work, one event
    // for the audit. When the work throws, the event is destroyed first and
    // appends its failure inside the transaction, which then rolls back and
    // takes the failure record with it.
    AuditHarness h;
    try {
        sealport::state::Database::Transaction tx(h.db);
        auto event = h.log.begin(securityOfficer(), "media.export", "study-5");
        throw std::runtime_error("device vanished");
    } catch (const std::runtime_error&) {
    }
    REQUIRE(h.log.entries() == 1);
    const auto r = h.log.tail(1).at(0);
    CHECK(r.outcome == Outcome::failure);
    CHECK(detailsOf(r).at("reason") == "not completed");
}
