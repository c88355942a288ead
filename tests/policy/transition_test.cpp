#include <catch2/catch.hpp>
#include <random>

#include "sealport/policy/token_meter.hpp"
#include "sealport/policy/transition.hpp"

using namespace sealport::policy;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 365 * 56);

std::vector<CheckResult> green() { return {{"audit-chain", true, "ok"}, {"database-integrity", true, "ok"}}; }

Event enter(std::uint32_t uid, TimePoint now, RoleSet roles = {Role::security}) {
    Event e;
    e.kind = Event::Kind::enter_incident;
    e.uid = uid;
    e.roles = roles;
    e.now = now;
    e.reason = "ransomware on the PACS network";
    return e;
}

Event approve(std::uint32_t uid, TimePoint now, std::vector<CheckResult> checks = green(),
              RoleSet roles = {Role::security}) {
    Event e;
    e.kind = Event::Kind::approve_exit;
    e.uid = uid;
    e.roles = roles;
    e.now = now;
    e.checks = std::move(checks);
    return e;
}

Event trip(TimePoint now) {
    Event e;
    e.kind = Event::Kind::tripwire;
    e.now = now;
    e.reason = "audit chain broken at entry 7";
    return e;
}

ModeState online() { return ModeState{Mode::online, t0, "new state", {}}; }

}  // namespace

TEST_CASE("a default-constructed mode state is incident mode") {
    CHECK(ModeState{}.mode == Mode::incident);
}

TEST_CASE("one security officer enters incident mode at once, with the reason recorded") {
    const Settings s;
    auto r = transition(online(), enter(1001, t0 + 1min), s);
    CHECK(r.next.mode == Mode::incident);
    CHECK(r.next.since == t0 + 1min);
    CHECK(r.next.reason == "ransomware on the PACS network");
    CHECK(r.record.modeChanged);
    CHECK(r.record.action == "incident.enter");
    CHECK(r.record.decision.allowed());
    CHECK(r.record.decision.rule == "role.granted");
}

TEST_CASE("an operator cannot enter incident mode") {
    auto r = transition(online(), enter(1002, t0, {Role::operator_}), Settings{});
    CHECK(r.next.mode == Mode::online);
    CHECK_FALSE(r.record.decision.allowed());
    CHECK(r.record.decision.rule == "role.required");
    CHECK_FALSE(r.record.modeChanged);
}

TEST_CASE("leaving incident mode takes two different officers within the window") {
    const Settings s;  // 15 minutes
    ModeState st = transition(online(), enter(1, t0), s).next;

    auto first = transition(st, approve(1, t0 + 1h), s);
    CHECK(first.record.decision.rule == "exit.first-approval");
    CHECK(first.next.mode == Mode::incident);
    REQUIRE(first.next.approvals.size() == 1);
    CHECK(first.next.approvals[0] == Approval{1, t0 + 1h});

    SECTION("the same officer twice is refused and the first approval stands") {
        auto again = transition(first.next, approve(1, t0 + 1h + 1min), s);
        CHECK_FALSE(again.record.decision.allowed());
        CHECK(again.record.decision.rule == "exit.same-officer");
        CHECK(again.next == first.next);
    }
    SECTION("a second officer inside the window returns to online") {
        auto second = transition(first.next, approve(2, t0 + 1h + 15min), s);
        CHECK(second.record.decision.rule == "exit.second-approval");
        CHECK(second.next.mode == Mode::online);
        CHECK(second.next.approvals.empty());
        CHECK(second.record.modeChanged);
        CHECK_THAT(second.next.reason, Catch::Contains("uid 1") && Catch::Contains("uid 2"));
    }
    SECTION("an expired first approval is withdrawn and the second call refused") {
        auto late = transition(first.next, approve(2, t0 + 1h + 15min + 1s), s);
        CHECK_FALSE(late.record.decision.allowed());
        CHECK(late.record.decision.rule == "exit.approval-expired");
        CHECK(late.next.mode == Mode::incident);
        CHECK(late.next.approvals.empty());
    }
    SECTION("a clock that went backwards does not make an approval valid") {
        auto skew = transition(first.next, approve(2, t0 + 59min), s);
        CHECK(skew.record.decision.rule == "exit.approval-expired");
        CHECK(skew.next.mode == Mode::incident);
    }
    SECTION("a red check refuses the second approval and keeps the mode") {
        auto red = transition(first.next, approve(2, t0 + 1h + 2min, {{"audit-chain", false, "broken at 9"}}), s);
        CHECK_FALSE(red.record.decision.allowed());
        CHECK(red.record.decision.rule == "exit.preconditions");
        CHECK(red.next.mode == Mode::incident);
    }
    SECTION("a tripwire in between withdraws the pending approval") {
        auto tripped = transition(first.next, trip(t0 + 1h + 1min), s);
        CHECK(tripped.next.approvals.empty());
        auto second = transition(tripped.next, approve(2, t0 + 1h + 2min), s);
        CHECK(second.record.decision.rule == "exit.first-approval");
        CHECK(second.next.mode == Mode::incident);
    }
    SECTION("entering again in between withdraws the pending approval") {
        auto again = transition(first.next, enter(3, t0 + 1h + 1min), s);
        CHECK(again.record.decision.rule == "incident.already");
        CHECK(again.next.approvals.empty());
        CHECK(again.next.since == st.since);
    }
}

TEST_CASE("a configured approval window is honoured") {
    Settings s;
    s.exitApprovalWindow = 5min;
    ModeState st = transition(online(), enter(1, t0), s).next;
    st = transition(st, approve(1, t0 + 1min), s).next;
    CHECK(transition(st, approve(2, t0 + 7min), s).record.decision.rule == "exit.approval-expired");
    CHECK(transition(st, approve(2, t0 + 6min), s).next.mode == Mode::online);
}

TEST_CASE("tripwires enter incident mode and never leave it") {
    const Settings s;
    auto r = transition(online(), trip(t0), s);
    CHECK(r.next.mode == Mode::incident);
    CHECK(r.record.action == "incident.tripwire");
    CHECK_THAT(r.next.reason, Catch::StartsWith("tripwire: "));
    auto again = transition(r.next, trip(t0 + 1min), s);
    CHECK(again.next.mode == Mode::incident);
    CHECK_FALSE(again.record.modeChanged);
    CHECK(again.record.decision.rule == "tripwire.already-incident");
}

TEST_CASE("approving an exit while online is refused") {
    auto r = transition(online(), approve(1, t0), Settings{});
    CHECK_FALSE(r.record.decision.allowed());
    CHECK(r.next == online());
}

// The reference model of the rules, written independently of transition().
namespace {

struct Model {
    Mode mode = Mode::online;
    std::optional<Approval> first;
    std::optional<Event> firstEvent;  // the event that recorded `first`
};

void step(Model& m, const Event& e, const Settings& s) {
    const bool security = e.roles.has(Role::security);
    switch (e.kind) {
        case Event::Kind::enter_incident:
            if (security) {
                m.mode = Mode::incident;
                m.first.reset();
            }
            break;
        case Event::Kind::tripwire:
            m.mode = Mode::incident;
            m.first.reset();
            break;
        case Event::Kind::approve_exit: {
            bool checksGreen = !e.checks.empty();
            for (const auto& c : e.checks) checksGreen = checksGreen && c.ok;
            if (m.mode != Mode::incident || !security || !e.uid || !checksGreen) break;
            if (!m.first) {
                m.first = Approval{*e.uid, e.now};
                m.firstEvent = e;
            } else if (e.now < m.first->at || e.now - m.first->at > s.exitApprovalWindow) {
                m.first.reset();
            } else if (m.first->uid != *e.uid) {
                m.mode = Mode::online;
                m.first.reset();
            }
            break;
        }
    }
}

}  // namespace

TEST_CASE("randomized: online is reached from incident only with two distinct approvals in the window and green checks") {
    const Settings s;
    std::mt19937_64 rng(20261128);  // fixed seed: the same sequences on every run
    std::uniform_int_distribution<int> kind(0, 9), uidPick(1, 3), roleBits(0, 15), minutes(0, 12);
    std::uniform_int_distribution<int> coin(0, 9);
    std::size_t toOnline = 0;
    std::size_t events = 0;

    for (int sequence = 0; sequence < 3000; ++sequence) {
        ModeState st = coin(rng) < 5 ? online() : ModeState{Mode::incident, t0, "start", {}};
        Model model{st.mode, {}, {}};
        TimePoint now = t0;
        for (int i = 0; i < 40; ++i, ++events) {
            // Time mostly moves forward; now and then it jumps back a little.
            now += std::chrono::minutes(minutes(rng));
            if (coin(rng) == 0) now -= 3min;
            const int k = kind(rng);
            const std::uint32_t uid = static_cast<std::uint32_t>(uidPick(rng));
            RoleSet roles;
            const int bits = roleBits(rng);
            for (int b = 0; b < 4; ++b)
                if ((bits & (1 << b)) != 0) roles.add(kAllRoles[b]);
            if (coin(rng) < 6) roles.add(Role::security);  // mostly officers, to reach deep states
            Event e;
            if (k < 2) {
                e = enter(uid, now, roles);
            } else if (k < 3) {
                e = trip(now);
            } else {
                std::vector<CheckResult> checks = green();
                if (coin(rng) == 0) checks[1].ok = false;
                if (coin(rng) == 0) checks.clear();
                e = approve(uid, now, checks, roles);
                if (coin(rng) == 0) e.uid.reset();
            }
            const ModeState before = st;
            const std::optional<Event> firstEvent = model.firstEvent;
            const TransitionResult r = transition(st, e, s);
            step(model, e, s);
            INFO("sequence " << sequence << " event " << i);
            REQUIRE(r.next.mode == model.mode);
            REQUIRE(r.next.approvals.size() == (model.first ? 1U : 0U));
            if (model.first) REQUIRE(r.next.approvals[0] == *model.first);
            REQUIRE(r.record.modeChanged == (before.mode != r.next.mode));

            if (before.mode == Mode::incident && r.next.mode == Mode::online) {
                ++toOnline;
                // The invariant, stated directly on the inputs.
                REQUIRE(e.kind == Event::Kind::approve_exit);
                REQUIRE(e.roles.has(Role::security));
                REQUIRE(!e.checks.empty());
                for (const auto& c : e.checks) REQUIRE(c.ok);
                REQUIRE(before.approvals.size() == 1);
                const Approval& a = before.approvals[0];
                REQUIRE(a.uid != *e.uid);
                REQUIRE(e.now >= a.at);
                REQUIRE(e.now - a.at <= s.exitApprovalWindow);
                // The first approval was itself an officer with green checks, in incident mode.
                REQUIRE(firstEvent.has_value());
                REQUIRE(firstEvent->uid == a.uid);
                REQUIRE(firstEvent->now == a.at);
                REQUIRE(firstEvent->roles.has(Role::security));
                REQUIRE(!firstEvent->checks.empty());
                for (const auto& c : firstEvent->checks) REQUIRE(c.ok);
            }
            if (e.kind != Event::Kind::approve_exit) REQUIRE((r.next.mode == Mode::incident || r.next == before));
            st = r.next;
        }
    }
    // The sequences did reach the interesting transitions.
    CHECK(events == 3000U * 40U);
    CHECK(toOnline > 500);
}

TEST_CASE("a steady guessing rate at the threshold alerts once, not every time the window slides") {
    FailedTokenMeter meter(3, 60s);
    int crossings = 0;
    // One failure every 20 s: the window always holds 3, sometimes 2 right after a slide.
    for (int i = 0; i < 100; ++i)
        if (meter.record("10.0.0.9", t0 + std::chrono::seconds(20 * i)) == FailedTokenMeter::Level::crossed)
            ++crossings;
    CHECK(crossings == 1);
    // A whole quiet window ends the episode; a new burst alerts again.
    const TimePoint later = t0 + std::chrono::seconds(20 * 100 + 120);
    CHECK(meter.record("10.0.0.9", later) == FailedTokenMeter::Level::below);
    CHECK(meter.record("10.0.0.9", later + 1s) == FailedTokenMeter::Level::below);
    CHECK(meter.record("10.0.0.9", later + 2s) == FailedTokenMeter::Level::crossed);
}

TEST_CASE("the failed-token meter crosses once per burst and forgets old failures") {
    FailedTokenMeter meter(3, 60s, 2);
    const TimePoint t = t0;
    CHECK(meter.record("10.0.0.1", t) == FailedTokenMeter::Level::below);
    CHECK(meter.record("10.0.0.1", t + 1s) == FailedTokenMeter::Level::below);
    CHECK(meter.record("10.0.0.1", t + 2s) == FailedTokenMeter::Level::crossed);
    CHECK(meter.record("10.0.0.1", t + 3s) == FailedTokenMeter::Level::above);
    CHECK(meter.failures("10.0.0.1", t + 3s) == 4);
    // Another address has its own count.
    CHECK(meter.record("10.0.0.2", t + 3s) == FailedTokenMeter::Level::below);
    // After the window the count starts again.
    CHECK(meter.record("10.0.0.1", t + 200s) == FailedTokenMeter::Level::below);
    CHECK(meter.failures("10.0.0.1", t + 200s) == 1);
    // Memory stays bounded: a third address evicts the stalest.
    meter.record("10.0.0.3", t + 201s);
    CHECK(meter.failures("10.0.0.2", t + 201s) == 0);
    CHECK(meter.failures("10.0.0.1", t + 201s) == 1);
}
