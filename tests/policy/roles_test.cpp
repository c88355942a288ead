#include <catch2/catch.hpp>

#include "sealport/policy/mode.hpp"
#include "sealport/policy/roles.hpp"

using namespace sealport::policy;

TEST_CASE("a default-constructed permission grants nothing, whatever the caller holds") {
    const Permission nobody{};
    const RoleSet caller = GENERATE(RoleSet{}, RoleSet{Role::security}, RoleSet{Role::operator_},
                                    RoleSet{Role::auditor}, RoleSet{Role::ris},
                                    RoleSet{Role::security, Role::operator_, Role::auditor, Role::ris});
    CHECK_FALSE(nobody.grants(caller));
}

TEST_CASE("a default-constructed role set holds no role") {
    const RoleSet none{};
    CHECK(none.empty());
    for (Role r : kAllRoles) CHECK_FALSE(none.has(r));
    CHECK(none.names().empty());
}

TEST_CASE("a caller with no role is refused even a command open to any role") {
    CHECK_FALSE(Permission::anyRole().grants(RoleSet{}));
    CHECK(Permission::anyRole().grants(RoleSet{Role::ris}));
}

TEST_CASE("a permission grants exactly the callers holding one of its roles") {
    using Row = std::tuple<RoleSet, RoleSet, bool>;  // required, caller, granted
    auto [required, caller, granted] = GENERATE(table<RoleSet, RoleSet, bool>({
        Row{{Role::security}, {Role::security}, true},
        Row{{Role::security}, {Role::operator_}, false},
        Row{{Role::security}, {Role::auditor}, false},
        Row{{Role::security}, {Role::ris}, false},
        Row{{Role::auditor, Role::security}, {Role::auditor}, true},
        Row{{Role::auditor, Role::security}, {Role::security}, true},
        Row{{Role::auditor, Role::security}, {Role::operator_, Role::ris}, false},
        Row{{Role::operator_, Role::ris}, {Role::ris}, true},
        Row{{Role::operator_, Role::ris}, {Role::operator_, Role::auditor}, true},
        Row{{Role::operator_}, {}, false},
    }));
    CAPTURE(required.names(), caller.names());
    CHECK(Permission::of(required).grants(caller) == granted);
}

TEST_CASE("role and mode names round-trip and unknown names are rejected") {
    for (Role r : kAllRoles) CHECK(parseRole(toString(r)) == r);
    CHECK(toString(Role::operator_) == "operator");
    const auto bad = GENERATE("", "Security", "admin", "root", "operator_", "ris ");
    CHECK_FALSE(parseRole(bad).has_value());
    CHECK(parseMode("online") == Mode::online);
    CHECK(parseMode("incident") == Mode::incident);
    CHECK_FALSE(parseMode("Online").has_value());
    CHECK_FALSE(parseMode("").has_value());
}
