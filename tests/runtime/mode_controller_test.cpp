// The mode controller and tripwires on a real SQLCipher state.
#include <catch2/catch.hpp>

#include "sealport/core/keys.hpp"
#include "sealport/runtime/mode_controller.hpp"
#include "temp_dir.hpp"

using namespace sealport;
using namespace std::chrono_literals;

namespace {

struct Fixture {
    testing::TempDir dir{"sealport-runtime"};
    core::ManualClock clock{core::SystemTime{} + std::chrono::hours(24 * 365 * 56)};
    core::KeyRing keys = core::deriveKeyRing(core::SecretBytes(std::vector<std::uint8_t>(32, 9)));
    std::unique_ptr<state::State> st;
    core::ModeGate gate;
    core::ServiceNotifier notifier;
    runtime::Alerts alerts;
    policy::Settings settings;
    std::unique_ptr<runtime::ModeController> mode;

    Fixture() {
        settings.failedTokenThreshold = 5;
        settings.failedTokenWindow = 60s;
        open();
        runtime::initializeState(*st, clock, state::Actor{0, 1, "installer"});
        mode->restore();
    }
    void open() {
        mode.reset();
        st.reset();
        st = std::make_unique<state::State>(dir.path() / "state", keys, clock, 16);
        mode = std::make_unique<runtime::ModeController>(*st, gate, settings, clock, notifier, alerts);
    }
    policy::Event enter() {
        policy::Event e;
        e.kind = policy::Event::Kind::enter_incident;
        e.uid = 1000;
        e.roles = {policy::Role::security};
        e.reason = "drill";
        return e;
    }
};

}  // namespace

TEST_CASE("the gate starts in incident mode until the state says otherwise") {
    core::ModeGate fresh;
    CHECK(fresh.current() == policy::Mode::incident);
    Fixture f;
    CHECK(f.gate.current() == policy::Mode::online);
}

TEST_CASE("a mode change is committed before any component sees it") {
    Fixture f;
    std::optional<policy::Mode> persistedWhenSeen;
    f.gate.onChange([&](policy::Mode) {
        // A listener stands in for the link server: at the moment it learns of
        // the change, the encrypted state must already say so.
        persistedWhenSeen = state::loadModeRecord(f.st->db())->state.mode;
    });
    const auto before = f.gate.generation();
    auto r = f.mode->apply(f.enter(), state::Actor{1000, 42, "security"});
    CHECK(r.record.modeChanged);
    CHECK(f.gate.current() == policy::Mode::incident);
    CHECK(f.gate.generation() == before + 1);
    REQUIRE(persistedWhenSeen);
    CHECK(*persistedWhenSeen == policy::Mode::incident);
    // And a restart restores it.
    f.open();
    f.mode->restore();
    CHECK(f.mode->state().mode == policy::Mode::incident);
    CHECK(f.mode->state().reason == "drill");
    CHECK(f.alerts.all().empty());
}

TEST_CASE("every transition, accepted or refused, is in the audit chain with its rule") {
    Fixture f;
    policy::Event byOperator = f.enter();
    byOperator.roles = {policy::Role::operator_};
    f.mode->apply(byOperator, state::Actor{1001, 43, "operator"});
    f.mode->apply(f.enter(), state::Actor{1000, 42, "security"});
    const auto tail = f.st->audit().tail(2);
    REQUIRE(tail.size() == 2);
    CHECK(tail[0].action == "incident.enter");
    CHECK(tail[0].outcome == state::Outcome::refused);
    CHECK(nlohmann::json::parse(tail[0].details).at("rule") == "role.required");
    CHECK(tail[0].actor.uid == 1001U);
    CHECK(tail[1].outcome == state::Outcome::success);
    CHECK(nlohmann::json::parse(tail[1].details).at("mode") == "incident");
    CHECK(f.st->audit().verify().ok);
}

TEST_CASE("failed token look-ups past the policy's rate raise an alert and trip incident mode") {
    Fixture f;
    runtime::Tripwires trip(*f.mode, f.alerts, f.settings);
    const auto t = f.clock.now();
    for (int i = 0; i < 4; ++i) trip.failedTokenLookup("192.0.2.7", t + std::chrono::seconds(i));
    CHECK(f.gate.current() == policy::Mode::online);
    CHECK(f.alerts.all().empty());
    trip.failedTokenLookup("192.0.2.7", t + 5s);
    CHECK(f.gate.current() == policy::Mode::incident);
    REQUIRE(f.alerts.all().size() == 1);
    CHECK_THAT(f.alerts.all()[0], Catch::Contains("192.0.2.7"));
    CHECK(f.st->audit().tail(1).at(0).action == "incident.tripwire");
    CHECK(f.st->audit().tail(1).at(0).actor.role == "daemon");
}

TEST_CASE("with failed_tokens_trip_incident = false, guessing only raises an alert") {
    Fixture f;
    f.settings.failedTokensTripIncident = false;
    runtime::Tripwires trip(*f.mode, f.alerts, f.settings);
    for (int i = 0; i < 10; ++i) trip.failedTokenLookup("198.51.100.1", f.clock.now() + std::chrono::seconds(i));
    CHECK(f.gate.current() == policy::Mode::online);
    CHECK(f.alerts.all().size() == 1);
}

TEST_CASE("the same audit break trips once, however often it is found") {
    Fixture f;
    runtime::Tripwires trip(*f.mode, f.alerts, f.settings);
    state::AuditVerification broken;
    broken.ok = false;
    broken.firstBad = 3;
    broken.reason = "entry 3 does not match its hash";
    for (int i = 0; i < 5; ++i) trip.auditChainVerified(broken);
    CHECK(f.alerts.all().size() == 1);
    std::size_t trips = 0;
    for (const auto& e : f.st->audit().tail(50)) trips += e.action == "incident.tripwire" ? 1U : 0U;
    CHECK(trips == 1);
    // A different break is a new event.
    broken.firstBad = 9;
    trip.auditChainVerified(broken);
    CHECK(f.alerts.all().size() == 2);
}

TEST_CASE("a tripwire never takes the appliance out of incident mode") {
    Fixture f;
    f.mode->apply(f.enter(), state::Actor{1000, 42, "security"});
    runtime::Tripwires trip(*f.mode, f.alerts, f.settings);
    for (int i = 0; i < 20; ++i) trip.failedTokenLookup("203.0.113.5", f.clock.now());
    CHECK(f.gate.current() == policy::Mode::incident);
}
