#include "sealport/policy/roles.hpp"

namespace sealport::policy {

std::string_view toString(Role role) noexcept {
    switch (role) {
        case Role::security: return "security";
        case Role::operator_: return "operator";
        case Role::auditor: return "auditor";
        case Role::ris: return "ris";
    }
    return "unknown";
}

std::optional<Role> parseRole(std::string_view name) noexcept {
    for (Role r : kAllRoles) {
        if (toString(r) == name) return r;
    }
    return std::nullopt;
}

std::vector<std::string> RoleSet::names() const {
    std::vector<std::string> out;
    for (Role r : kAllRoles) {
        if (has(r)) out.emplace_back(toString(r));
    }
    return out;
}

}  // namespace sealport::policy
