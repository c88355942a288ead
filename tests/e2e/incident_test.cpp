// End-to-end: incident mode with the real daemon. Persistence across SIGKILL,
// two-person exit with callers of different uids (setpriv), fail-secure start
// on tampered state, and the audit-chain tripwire.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <fstream>
#include <thread>

#include "harness.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/state/database.hpp"

using namespace sealport;
using namespace sealport::e2e;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kOfficerA = 48152;
constexpr std::uint32_t kOfficerB = 48153;
constexpr std::uint32_t kOperator = 48154;

const std::string kRoles =
    "[roles]\n"
    "security = [\"uid:0\", \"uid:48152\", \"uid:48153\"]\n"
    "operator = [\"uid:48154\"]\n"
    "auditor = [\"uid:0\"]\n";

// Lets other uids reach the socket, so that refusals are the daemon's own.
void openSocketToOthers(const Daemon& d) {
    REQUIRE(::chmod(d.dir().c_str(), 0755) == 0);
    REQUIRE(::chmod((d.dir() / "run").c_str(), 0755) == 0);
    REQUIRE(::chmod(d.socket().c_str(), 0666) == 0);
}

json status(const Daemon& d) { return jsonOf(d.ctl({"status", "--json"})); }

// Opens the daemon's SQLCipher state with its own key, as an attacker holding
// the key (or a buggy component) could, and lets `fn` change it.
template <typename Fn>
void tamper(const Daemon& d, Fn fn) {
    auto master = core::readMasterKeyFile(d.keyFile(), 0);
    auto keys = core::deriveKeyRing(master);
    auto db = state::Database::open(d.stateDir() / "state.db", keys.database);
    db.exec("DROP TRIGGER IF EXISTS audit_append_only_update");
    db.exec("DROP TRIGGER IF EXISTS audit_append_only_delete");
    fn(db);
}

}  // namespace

TEST_CASE("incident mode: entered by one officer, survives SIGKILL, left only by two different officers") {
    Daemon d(kRoles, /*mapRoot=*/false);
    d.startAndWaitReady();
    openSocketToOthers(d);
    CHECK(status(d).at("mode") == "online");

    // Enter: acknowledged only once committed, and STATUS= follows.
    const json entered = jsonOf(d.ctl({"incident", "enter", "--reason", "ransomware drill", "--json"}));
    CHECK(entered.at("mode") == "incident");
    CHECK(entered.at("changed") == true);
    CHECK(status(d).at("mode") == "incident");
    CHECK(status(d).at("reason") == "ransomware drill");
    const auto statusMsg = d.notify().waitFor("STATUS=mode incident (online sharing suspended: ransomware drill)", 2s);
    CHECK(statusMsg);

    // SIGKILL: no chance to write anything more. The restart comes back in incident.
    d.killHard();
    d.startAndWaitReady();
    openSocketToOthers(d);
    const auto ready = d.notify().messages();
    REQUIRE_FALSE(ready.empty());
    CHECK_THAT(ready.back(), Catch::Contains("READY=1") && Catch::Contains("STATUS=mode incident"));
    CHECK(status(d).at("mode") == "incident");

    // An operator may not approve.
    auto op = d.ctlAs(kOperator, {"incident", "exit"});
    CHECK(op.exitCode == 2);
    CHECK_THAT(op.err, Catch::Contains("permission denied"));

    // Officer A approves; A again is refused; the approval shows in status.
    auto a1 = d.ctlAs(kOfficerA, {"incident", "exit", "--json"});
    REQUIRE(a1.exitCode == 0);
    CHECK(jsonOf(a1).at("rule") == "exit.first-approval");
    CHECK(status(d).at("mode") == "incident");
    auto a2 = d.ctlAs(kOfficerA, {"incident", "exit"});
    CHECK(a2.exitCode == 2);
    CHECK_THAT(a2.err, Catch::Contains("exit.same-officer") && Catch::Contains("different security officer"));
    const json pending = status(d).at("exit_approvals");
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].at("uid") == kOfficerA);

    // The pending approval also survives a crash.
    d.killHard();
    d.startAndWaitReady();
    openSocketToOthers(d);
    CHECK(status(d).at("exit_approvals").size() == 1);

    // Officer B completes it: online again.
    auto b = d.ctlAs(kOfficerB, {"incident", "exit"});
    INFO(b.err);
    REQUIRE(b.exitCode == 0);
    CHECK_THAT(b.out, Catch::Contains("online again"));
    const json after = status(d);
    CHECK(after.at("mode") == "online");
    CHECK(after.at("exit_approvals").empty());
    CHECK(d.notify().waitFor("STATUS=mode online", 2s));

    // The audit chain tells the story with the callers' uids, and verifies.
    const auto steps = d.auditEntries("incident.");
    REQUIRE(steps.size() == 4);
    CHECK(steps[0].at("action") == "incident.enter");
    CHECK(steps[0].at("actor").at("uid") == 0);
    CHECK(steps[0].at("details").at("reason") == "ransomware drill");
    CHECK(steps[1].at("action") == "incident.exit");
    CHECK(steps[1].at("actor").at("uid") == kOfficerA);
    CHECK(steps[1].at("outcome") == "success");
    CHECK(steps[1].at("details").at("rule") == "exit.first-approval");
    CHECK(steps[2].at("actor").at("uid") == kOfficerA);
    CHECK(steps[2].at("outcome") == "refused");
    CHECK(steps[2].at("details").at("rule") == "exit.same-officer");
    CHECK(steps[3].at("actor").at("uid") == kOfficerB);
    CHECK(steps[3].at("details").at("rule") == "exit.second-approval");
    CHECK(steps[3].at("details").at("mode") == "online");
    const auto refusals = d.auditEntries("control.refused");
    REQUIRE_FALSE(refusals.empty());
    CHECK(refusals.back().at("actor").at("uid") == kOperator);
    CHECK(jsonOf(d.ctl({"audit", "verify", "--json"})).at("ok") == true);
    CHECK(d.terminate() == 0);
}

TEST_CASE("the recovery checklist is printed and gates the exit") {
    Daemon d(kRoles, false);
    d.startAndWaitReady();
    const auto r = d.ctl({"recovery", "check", "--json"});
    REQUIRE(r.exitCode == 0);
    const json j = jsonOf(r);
    CHECK(j.at("ready") == true);
    std::vector<std::string> names;
    for (const auto& c : j.at("checks")) {
        names.push_back(c.at("name"));
        CHECK(c.at("ok") == true);
    }
    CHECK(names == std::vector<std::string>{"audit-chain", "database-integrity"});
    const auto human = d.ctl({"recovery", "check"});
    CHECK_THAT(human.out, Catch::Contains("[ ok ] audit-chain"));
    // Leaving a mode one is not in is refused with the reason.
    const auto exit = d.ctl({"incident", "exit"});
    CHECK(exit.exitCode == 2);
    CHECK_THAT(exit.err, Catch::Contains("not in incident mode"));
    CHECK(d.terminate() == 0);
}

TEST_CASE("an audit chain tampered with while stopped brings the daemon up in incident mode with an alert") {
    Daemon d(kRoles, false);
    d.startAndWaitReady();
    CHECK(status(d).at("mode") == "online");
    REQUIRE(d.terminate() == 0);

    tamper(d, [](state::Database& db) { db.exec("UPDATE audit SET subject = 'forged' WHERE seq = 2"); });

    d.startAndWaitReady();
    const auto ready = d.notify().messages().back();
    CHECK_THAT(ready, Catch::Contains("STATUS=mode incident"));
    const json s = status(d);
    CHECK(s.at("mode") == "incident");
    REQUIRE(s.at("alerts").size() >= 1);
    CHECK_THAT(s.at("alerts")[0].get<std::string>(), Catch::Contains("audit chain") && Catch::Contains("entry 2"));
    CHECK_THAT(s.at("reason").get<std::string>(), Catch::Contains("fail-secure"));
    CHECK_THAT(d.stderrText(), Catch::Contains("ALERT"));

    // The recovery checklist is red, so nobody can lead it out.
    const auto check = d.ctl({"recovery", "check", "--json"});
    CHECK(check.exitCode == 3);
    CHECK(jsonOf(check).at("ready") == false);
    const auto exit = d.ctl({"incident", "exit"});
    CHECK(exit.exitCode == 2);
    CHECK_THAT(exit.err, Catch::Contains("audit-chain"));
    CHECK(d.terminate() == 0);
}

TEST_CASE("a mode record that was removed or rolled back while stopped means incident mode") {
    Daemon d(kRoles, false);
    d.startAndWaitReady();
    REQUIRE(d.terminate() == 0);
    SECTION("removed") {
        tamper(d, [](state::Database& db) { db.exec("DELETE FROM mode_record"); });
        d.startAndWaitReady();
        CHECK(status(d).at("mode") == "incident");
        CHECK_THAT(status(d).at("alerts")[0].get<std::string>(), Catch::Contains("mode record missing"));
    }
    SECTION("pointing at an older mode entry") {
        // Enter and leave incident once, then put back a record naming the first entry.
        d.startAndWaitReady();
        openSocketToOthers(d);
        REQUIRE(d.ctl({"incident", "enter", "--reason", "test"}).exitCode == 0);
        REQUIRE(d.ctlAs(kOfficerA, {"incident", "exit"}).exitCode == 0);
        REQUIRE(d.ctlAs(kOfficerB, {"incident", "exit"}).exitCode == 0);
        REQUIRE(d.ctl({"incident", "enter", "--reason", "second incident"}).exitCode == 0);
        REQUIRE(d.terminate() == 0);
        tamper(d, [](state::Database& db) {
            // Roll the record back to the state.created entry (online).
            db.exec("UPDATE mode_record SET mode = 'online', audit_seq = 1, reason = 'new state'");
        });
        d.startAndWaitReady();
        const json s = status(d);
        CHECK(s.at("mode") == "incident");
        CHECK_THAT(s.at("alerts")[0].get<std::string>(), Catch::Contains("latest mode record"));
    }
    SECTION("the database file deleted (the directory is not new)") {
        std::filesystem::remove(d.stateDir() / "state.db");
        std::filesystem::remove(d.stateDir() / "state.db-wal");
        std::filesystem::remove(d.stateDir() / "state.db-shm");
        std::ofstream(d.stateDir() / "leftover").put('x');
        d.startAndWaitReady();
        CHECK(status(d).at("mode") == "incident");
    }
    CHECK(d.terminate() == 0);
}

TEST_CASE("a break in the audit chain found while running trips incident mode") {
    SECTION("on demand, by audit verify") {
        Daemon d(kRoles, false);
        d.startAndWaitReady();
        tamper(d, [](state::Database& db) { db.exec("DELETE FROM audit WHERE seq = 1"); });
        const auto v = d.ctl({"audit", "verify", "--json"});
        CHECK(v.exitCode == 3);
        CHECK(jsonOf(v).at("first_bad") == 1);
        const json s = status(d);
        CHECK(s.at("mode") == "incident");
        CHECK_THAT(s.at("reason").get<std::string>(), Catch::StartsWith("tripwire: audit chain broken at entry 1"));
        const auto trips = d.auditEntries("incident.tripwire");
        REQUIRE(trips.size() == 1);
        CHECK(trips[0].at("actor").at("role") == "daemon");
        CHECK(d.terminate() == 0);
    }
    SECTION("periodically") {
        Daemon d(kRoles + "[audit]\nverify_interval_seconds = 1\n", false);
        d.startAndWaitReady();
        tamper(d, [](state::Database& db) { db.exec("UPDATE audit SET outcome = 'success!' WHERE seq = 2"); });
        CHECK(d.notify().waitFor("STATUS=mode incident (online sharing suspended: tripwire: audit chain broken at entry 2: entry 2 does not match its hash); 1 alert(s)", 5s));
        CHECK(status(d).at("mode") == "incident");
        CHECK(d.terminate() == 0);
    }
}

TEST_CASE("incident enter needs a reason and only security may give it") {
    Daemon d(kRoles, false);
    d.startAndWaitReady();
    openSocketToOthers(d);
    CHECK(d.ctl({"incident", "enter"}).exitCode == 64);
    auto op = d.ctlAs(kOperator, {"incident", "enter", "--reason", "I think so"});
    CHECK(op.exitCode == 2);
    CHECK(status(d).at("mode") == "online");
    const auto again = d.ctl({"incident", "enter", "--reason", std::string(501, 'x')});
    CHECK(again.exitCode == 2);
    CHECK_THAT(again.err, Catch::Contains("500 characters"));
    CHECK(d.terminate() == 0);
}

TEST_CASE("a state that appears at start, without sealportd --init, starts in incident mode") {
    Daemon d(kRoles, false, /*init=*/false);
    d.startAndWaitReady();
    const json s = status(d);
    CHECK(s.at("mode") == "incident");
    REQUIRE(s.at("alerts").size() == 1);
    CHECK_THAT(s.at("alerts")[0].get<std::string>(), Catch::Contains("sealportd --init"));
    CHECK(d.terminate() == 0);
    // --init refuses a state that already exists.
    const auto again = runProgram({binary("sealportd").string(), "--config", d.configFile().string(), "--init"});
    CHECK(again.exitCode != 0);
    CHECK_THAT(again.err, Catch::Contains("already initialized"));
}

TEST_CASE("sealportd --init commissions a new state online, recorded as the installer's act") {
    Daemon d(kRoles, false);
    d.startAndWaitReady();
    CHECK(status(d).at("mode") == "online");
    CHECK(status(d).at("alerts").empty());
    const auto created = d.auditEntries("state.created");
    REQUIRE(created.size() == 1);
    CHECK(created[0].at("actor").at("role") == "installer");
    CHECK(created[0].at("actor").at("uid") == 0);
    CHECK(d.terminate() == 0);
}
