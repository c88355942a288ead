#include <catch2/catch.hpp>

#include "sealport/policy/decision.hpp"

using namespace sealport::policy;

namespace {

Settings settings() {
    Settings s;
    s.onlineCallingAes = {"CT_SCANNER", "PACS"};
    s.incidentCallingAes = {"CT_SCANNER"};
    return s;
}

MediaFacts goodMedium() {
    MediaFacts m;
    m.present = true;
    m.removable = true;
    m.usb = true;
    m.attestedSealed = true;
    m.looksNew = true;
    m.inLedger = false;
    m.capacityBytes = 8'000'000'000;
    m.requiredBytes = 700'000'000;
    return m;
}

std::vector<CheckResult> green() { return {{"audit-chain", true, ""}, {"database-integrity", true, ""}}; }

// A context that satisfies every fact an action may need, so that the table
// below isolates mode and role.
Context fullContext(RoleSet roles) {
    Context c;
    c.callerUid = 1000;
    c.roles = roles;
    c.callingAe = "CT_SCANNER";
    c.media = goodMedium();
    c.checks = green();
    c.linkValid = true;
    return c;
}

}  // namespace

TEST_CASE("a default-constructed context grants nothing, in either mode") {
    const Mode mode = GENERATE(Mode::online, Mode::incident);
    const Settings s = settings();
    for (Action a : kAllActions) {
        CAPTURE(toString(mode), toString(a));
        const Decision d = decide(mode, a, Context{}, s);
        CHECK_FALSE(d.allowed());
        CHECK_FALSE(d.rule.empty());
        CHECK_FALSE(d.reasons.empty());
    }
}

TEST_CASE("a default-constructed decision is a denial with its own rule name") {
    const Decision d{};
    CHECK_FALSE(d.allowed());
    CHECK(d.rule == "default-deny");
}

TEST_CASE("verdict and rule for every mode x action x role with all other facts satisfied") {
    using R = RoleSet;
    using Row = std::tuple<Mode, Action, RoleSet, bool, std::string>;
    const R sec{Role::security}, op{Role::operator_}, aud{Role::auditor}, ris{Role::ris}, none{};
    auto [mode, action, roles, allowed, rule] = GENERATE_COPY(table<Mode, Action, RoleSet, bool, std::string>({
        // online mode
        Row{Mode::online, Action::issue_link, op, true, "link.limits"},
        Row{Mode::online, Action::issue_link, ris, true, "link.limits"},
        Row{Mode::online, Action::issue_link, sec, false, "role.required"},
        Row{Mode::online, Action::issue_link, aud, false, "role.required"},
        Row{Mode::online, Action::issue_link, none, false, "role.required"},
        Row{Mode::online, Action::serve_link, none, true, "link.valid"},
        Row{Mode::online, Action::export_media, op, true, "media.eligible"},
        Row{Mode::online, Action::export_media, sec, false, "role.required"},
        Row{Mode::online, Action::export_media, ris, false, "role.required"},
        Row{Mode::online, Action::ingest, none, true, "ingest.calling-ae"},
        Row{Mode::online, Action::import_files, op, true, "role.granted"},
        Row{Mode::online, Action::import_files, ris, false, "role.required"},
        Row{Mode::online, Action::enter_incident, sec, true, "role.granted"},
        Row{Mode::online, Action::enter_incident, op, false, "role.required"},
        Row{Mode::online, Action::enter_incident, aud, false, "role.required"},
        Row{Mode::online, Action::approve_exit, sec, false, "exit.preconditions"},
        Row{Mode::online, Action::approve_exit, op, false, "role.required"},
        Row{Mode::online, Action::rotate_keys, sec, true, "role.granted"},
        Row{Mode::online, Action::rotate_keys, op, false, "role.required"},
        Row{Mode::online, Action::backup, sec, true, "role.granted"},
        Row{Mode::online, Action::backup, aud, false, "role.required"},
        Row{Mode::online, Action::read_audit, aud, true, "role.granted"},
        Row{Mode::online, Action::read_audit, sec, true, "role.granted"},
        Row{Mode::online, Action::read_audit, op, false, "role.required"},
        Row{Mode::online, Action::recovery_check, sec, true, "role.granted"},
        Row{Mode::online, Action::recovery_check, aud, false, "role.required"},
        // incident mode
        Row{Mode::incident, Action::issue_link, op, false, "incident.links-suspended"},
        Row{Mode::incident, Action::issue_link, ris, false, "incident.links-suspended"},
        Row{Mode::incident, Action::serve_link, none, false, "incident.links-suspended"},
        Row{Mode::incident, Action::export_media, op, true, "media.eligible"},
        Row{Mode::incident, Action::export_media, aud, false, "role.required"},
        Row{Mode::incident, Action::ingest, none, true, "ingest.calling-ae"},
        Row{Mode::incident, Action::import_files, op, false, "import.incident"},
        Row{Mode::incident, Action::enter_incident, sec, true, "role.granted"},
        Row{Mode::incident, Action::enter_incident, ris, false, "role.required"},
        Row{Mode::incident, Action::approve_exit, sec, true, "exit.preconditions"},
        Row{Mode::incident, Action::approve_exit, op, false, "role.required"},
        Row{Mode::incident, Action::approve_exit, aud, false, "role.required"},
        Row{Mode::incident, Action::rotate_keys, sec, true, "role.granted"},
        Row{Mode::incident, Action::backup, sec, true, "role.granted"},
        Row{Mode::incident, Action::read_audit, aud, true, "role.granted"},
        Row{Mode::incident, Action::recovery_check, sec, true, "role.granted"},
        Row{Mode::incident, Action::recovery_check, op, false, "role.required"},
    }));
    CAPTURE(toString(mode), toString(action), roles.names());
    const Decision d = decide(mode, action, fullContext(roles), settings());
    CHECK(d.allowed() == allowed);
    CHECK(d.rule == rule);
    CHECK_FALSE(d.reasons.empty());
}

TEST_CASE("in incident mode links are refused before the caller or the token is even considered") {
    Context c = fullContext({Role::operator_, Role::ris, Role::security});
    for (Action a : {Action::serve_link, Action::issue_link}) {
        const Decision d = decide(Mode::incident, a, c, settings());
        CHECK(d.rule == "incident.links-suspended");
        CHECK_THAT(d.reasons.at(0), Catch::Contains("suspended"));
    }
    // Even a policy that would open links in incident mode cannot: the rule comes first.
    Settings open = settings();
    open.incidentChannels = {Channel::link, Channel::media};
    CHECK(decide(Mode::incident, Action::serve_link, c, open).rule == "incident.links-suspended");
}

TEST_CASE("a serve request for an unknown, expired, revoked or used-up link is denied online") {
    Context c = fullContext({});
    c.linkValid = false;
    const Decision d = decide(Mode::online, Action::serve_link, c, settings());
    CHECK_FALSE(d.allowed());
    CHECK(d.rule == "link.valid");
}

TEST_CASE("ingest follows the calling AE lists of each mode") {
    using Row = std::tuple<Mode, std::string, bool>;
    auto [mode, ae, allowed] = GENERATE(table<Mode, std::string, bool>({
        Row{Mode::online, "CT_SCANNER", true},
        Row{Mode::online, "PACS", true},
        Row{Mode::online, "LAPTOP", false},
        Row{Mode::online, "", false},
        Row{Mode::online, "ct_scanner", false},
        Row{Mode::incident, "CT_SCANNER", true},
        Row{Mode::incident, "PACS", false},  // the PACS may be compromised during an incident
        Row{Mode::incident, "LAPTOP", false},
    }));
    Context c;
    c.callingAe = ae;
    const Decision d = decide(mode, Action::ingest, c, settings());
    CAPTURE(toString(mode), ae);
    CHECK(d.allowed() == allowed);
    CHECK(d.rule == "ingest.calling-ae");
}

TEST_CASE("media export names every failed media fact") {
    Context c = fullContext({Role::operator_});
    SECTION("a complete eligible medium is allowed") {
        CHECK(decide(Mode::incident, Action::export_media, c, settings()).allowed());
    }
    SECTION("each missing fact is a reason") {
        using Mutator = void (*)(MediaFacts&);
        auto [mutate, expected] = GENERATE(table<Mutator, std::string>({
            {[](MediaFacts& m) { m.removable = false; }, "not removable"},
            {[](MediaFacts& m) { m.usb = false; }, "not on USB"},
            {[](MediaFacts& m) { m.attestedSealed = false; }, "sealed package"},
            {[](MediaFacts& m) { m.looksNew = false; }, "does not look new"},
            {[](MediaFacts& m) { m.inLedger = true; }, "written by the appliance before"},
            {[](MediaFacts& m) { m.capacityBytes = 1; }, "too small"},
            {[](MediaFacts& m) { m.requiredBytes = 0; }, "nothing to export"},
            {[](MediaFacts& m) { m = MediaFacts{}; }, "no medium identified"},
        }));
        mutate(c.media);
        const Decision d = decide(Mode::incident, Action::export_media, c, settings());
        CHECK_FALSE(d.allowed());
        CHECK(d.rule == "media.eligible");
        bool found = false;
        for (const auto& r : d.reasons) found = found || r.find(expected) != std::string::npos;
        CAPTURE(d.reasons, expected);
        CHECK(found);
    }
}

TEST_CASE("a policy that closes a channel closes it") {
    Settings s = settings();
    s.onlineChannels = {Channel::media};
    const Context c = fullContext({Role::operator_});
    const Decision d = decide(Mode::online, Action::issue_link, c, s);
    CHECK(d.rule == "channel.closed");
    s.incidentChannels = {};
    CHECK(decide(Mode::incident, Action::export_media, c, s).rule == "channel.closed");
}

TEST_CASE("link TTL and download counts are held to the policy's limits") {
    Context c = fullContext({Role::ris});
    using Row = std::tuple<std::optional<std::uint32_t>, std::optional<std::uint32_t>, bool>;
    auto [ttl, downloads, allowed] = GENERATE(table<std::optional<std::uint32_t>, std::optional<std::uint32_t>, bool>({
        Row{std::nullopt, std::nullopt, true},
        Row{30U, 10U, true},
        Row{31U, std::nullopt, false},
        Row{0U, std::nullopt, false},
        Row{std::nullopt, 11U, false},
        Row{std::nullopt, 0U, false},
    }));
    c.ttlDays = ttl;
    c.maxDownloads = downloads;
    const Decision d = decide(Mode::online, Action::issue_link, c, settings());
    CHECK(d.allowed() == allowed);
    CHECK(d.rule == "link.limits");
}

TEST_CASE("leaving incident mode needs every recovery check green and an identified officer") {
    Context c = fullContext({Role::security});
    SECTION("a red check") {
        c.checks = {{"audit-chain", true, ""}, {"database-integrity", false, "page 4 corrupt"}};
        const Decision d = decide(Mode::incident, Action::approve_exit, c, settings());
        CHECK_FALSE(d.allowed());
        CHECK(d.rule == "exit.preconditions");
        CHECK_THAT(d.reasons.at(0), Catch::Contains("database-integrity") && Catch::Contains("page 4"));
    }
    SECTION("no checks at all") {
        c.checks.clear();
        CHECK_FALSE(decide(Mode::incident, Action::approve_exit, c, settings()).allowed());
    }
    SECTION("no uid") {
        c.callerUid.reset();
        CHECK_FALSE(decide(Mode::incident, Action::approve_exit, c, settings()).allowed());
    }
}

TEST_CASE("every rule a decision can name is listed, ending with default-deny") {
    const auto names = ruleNames();
    REQUIRE_FALSE(names.empty());
    CHECK(names.back() == "default-deny");
    CHECK(std::find(names.begin(), names.end(), "incident.links-suspended") == names.begin());
}
