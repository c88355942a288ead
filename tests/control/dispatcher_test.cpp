#include <catch2/catch.hpp>

#include "sealport/control/dispatcher.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/state/state.hpp"
#include "temp_dir.hpp"

using namespace sealport;
using control::Caller;
using control::CommandRegistry;
using control::PeerCredentials;
using control::RoleMap;
using nlohmann::json;
using policy::Permission;
using policy::Role;
using policy::RoleSet;

namespace {

core::Principal uid(std::uint32_t n) { return {core::Principal::Kind::uid, n, "uid:" + std::to_string(n)}; }
core::Principal gid(std::uint32_t n) { return {core::Principal::Kind::gid, n, "gid:" + std::to_string(n)}; }

// A real SQLCipher state in a temporary directory, for the audit entries the dispatcher writes.
struct Fixture {
    testing::TempDir dir{"sealport-control"};
    core::ManualClock clock{core::SystemTime{} + std::chrono::hours(24 * 365 * 56)};
    core::KeyRing keys = core::deriveKeyRing(core::SecretBytes(std::vector<std::uint8_t>(32, 7)));
    state::State st{dir.path() / "state", keys, clock, 64};
    CommandRegistry registry{st.audit()};
    int calls = 0;

    Fixture() {
        registry.add("status", Permission::anyRole(), [this](const control::CommandContext&) {
            ++calls;
            return json{{"mode", "online"}};
        });
        registry.add("incident enter", Permission::of({Role::security}),
                     [this](const control::CommandContext&) {
                         ++calls;
                         return json::object();
                     });
        registry.add("audit tail", Permission::of({Role::auditor, Role::security}),
                     [this](const control::CommandContext& c) {
                         ++calls;
                         return json{{"n", control::optionalInteger(c.args, "n", 1, 100).value_or(20)}};
                     });
        registry.add("link create", Permission::of({Role::operator_, Role::ris}),
                     [this](const control::CommandContext& c) {
                         ++calls;
                         return json{{"study", control::requireString(c.args, "study")}};
                     });
        registry.add("explode", Permission::anyRole(), [](const control::CommandContext&) -> json {
            throw std::runtime_error("secret internal path /var/lib/sealport/state.db");
        });
    }

    json run(const Caller& caller, const std::string& command, json args = json::object()) {
        return registry.dispatch(caller, control::Request{command, std::move(args)});
    }
};

Caller callerWith(RoleSet roles, std::uint32_t u = 4242) {
    return Caller{PeerCredentials{u, u, 777, {}}, roles};
}

}  // namespace

TEST_CASE("role mapping: uid, primary gid and supplementary groups each grant their roles") {
    core::RolesConfig cfg;
    cfg.security = {uid(1001), gid(600)};
    cfg.operator_ = {uid(1002), gid(700)};
    cfg.auditor = {gid(800)};
    cfg.ris = {uid(1004)};
    const RoleMap map(cfg);

    using Row = std::tuple<PeerCredentials, RoleSet>;
    auto [peer, expected] = GENERATE(table<PeerCredentials, RoleSet>({
        Row{{1001, 100, 1, {}}, {Role::security}},
        Row{{1002, 100, 1, {}}, {Role::operator_}},
        Row{{1004, 100, 1, {}}, {Role::ris}},
        Row{{5000, 600, 1, {}}, {Role::security}},                      // primary group
        Row{{5000, 100, 1, {700, 800}}, {Role::operator_, Role::auditor}},  // supplementary groups
        Row{{1001, 700, 1, {800}}, {Role::security, Role::operator_, Role::auditor}},
        Row{{5000, 100, 1, {}}, {}},                                     // nobody we know
        Row{{0, 0, 1, {}}, {}},                                          // root is not special
        Row{{600, 1001, 1, {}}, {}},                                     // uid/gid numbers not confused
    }));
    CAPTURE(peer.uid, peer.gid, peer.groups);
    CHECK(map.rolesOf(peer) == expected);
}

TEST_CASE("an empty [roles] section maps nobody to anything") {
    const RoleMap map(core::RolesConfig{});
    const std::uint32_t id = GENERATE(0U, 1U, 1000U, 65534U);
    CHECK(map.rolesOf(PeerCredentials{id, id, 1, {id}}).empty());
}

TEST_CASE("a caller without a role is refused every command, and each refusal is audited") {
    Fixture f;
    const std::string command = GENERATE("status", "incident enter", "audit tail", "link create",
                                         "explode", "no such command");
    const auto before = f.st.audit().entries();
    const json r = f.run(callerWith({}, 31337), command);
    CHECK(r.at("ok") == false);
    CHECK(r.at("error") == "refused");
    CHECK_FALSE(r.at("correlation_id").get<std::string>().empty());
    CHECK(f.calls == 0);
    REQUIRE(f.st.audit().entries() == before + 1);
    const auto last = f.st.audit().tail(1).at(0);
    CHECK(last.action == "control.refused");
    CHECK(last.subject == command);
    CHECK(last.outcome == state::Outcome::refused);
    CHECK(last.actor.uid == 31337U);
    CHECK(last.actor.pid == 777);
    CHECK(last.actor.role == "none");
    CHECK(json::parse(last.details).at("correlation_id") == r.at("correlation_id"));
}

TEST_CASE("the dispatcher enforces the role each command declared") {
    using Row = std::tuple<std::string, RoleSet, bool>;
    auto [command, roles, allowed] = GENERATE(table<std::string, RoleSet, bool>({
        Row{"status", {Role::ris}, true},
        Row{"status", {Role::auditor}, true},
        Row{"incident enter", {Role::security}, true},
        Row{"incident enter", {Role::operator_}, false},
        Row{"incident enter", {Role::auditor}, false},
        Row{"incident enter", {Role::ris}, false},
        Row{"audit tail", {Role::auditor}, true},
        Row{"audit tail", {Role::security}, true},
        Row{"audit tail", {Role::operator_}, false},
        Row{"audit tail", {Role::ris}, false},
        Row{"link create", {Role::ris}, true},
        Row{"link create", {Role::operator_}, true},
        Row{"link create", {Role::security, Role::auditor}, false},
    }));
    Fixture f;
    CAPTURE(command, roles.names());
    json args = command == "link create" ? json{{"study", "1.2.3"}} : json::object();
    const json r = f.run(callerWith(roles), command, args);
    CHECK(r.at("ok") == allowed);
    CHECK(f.calls == (allowed ? 1 : 0));
    if (!allowed) {
        CHECK(r.at("error") == "refused");
        CHECK_THAT(r.at("message").get<std::string>(), Catch::Contains("needs the"));
        CHECK(f.st.audit().tail(1).at(0).action == "control.refused");
    }
}

TEST_CASE("a mapped caller is told when a command does not exist, and that is audited too") {
    Fixture f;
    const json r = f.run(callerWith({Role::operator_}), "frobnicate");
    CHECK(r.at("error") == "unknown_command");
    CHECK(f.st.audit().tail(1).at(0).subject == "frobnicate");
}

TEST_CASE("bad arguments give a clear error naming the argument") {
    Fixture f;
    const Caller auditor = callerWith({Role::auditor});
    auto r = f.run(auditor, "audit tail", {{"n", "ten"}});
    CHECK(r.at("error") == "invalid_argument");
    CHECK_THAT(r.at("message").get<std::string>(), Catch::Contains("'n'"));
    r = f.run(auditor, "audit tail", {{"n", 0}});
    CHECK(r.at("error") == "invalid_argument");
    r = f.run(auditor, "audit tail", {{"n", 5}});
    CHECK(r.at("result").at("n") == 5);
    r = f.run(callerWith({Role::ris}), "link create");
    CHECK(r.at("error") == "invalid_argument");
    CHECK_THAT(r.at("message").get<std::string>(), Catch::Contains("'study'"));
}

TEST_CASE("an internal failure reaches the client as a correlation id, not as its details") {
    Fixture f;
    const json r = f.run(callerWith({Role::operator_}), "explode");
    CHECK(r.at("error") == "internal");
    CHECK(r.at("message") == "internal error");
    CHECK(r.dump().find("/var/lib") == std::string::npos);
    CHECK(r.at("correlation_id").get<std::string>().size() == 16);
}

TEST_CASE("the actor recorded for a caller names every role it holds") {
    const Caller c = callerWith({Role::security, Role::auditor}, 1500);
    const auto a = c.actor();
    CHECK(a.uid == 1500U);
    CHECK(a.pid == 777);
    CHECK(a.role == "security,auditor");
}
