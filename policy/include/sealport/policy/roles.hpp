#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sealport::policy {

// The people and systems that may act on the appliance. A caller holds zero or
// more roles; holding none means it may do nothing at all.
enum class Role : std::uint8_t { security, operator_, auditor, ris };

inline constexpr Role kAllRoles[] = {Role::security, Role::operator_, Role::auditor, Role::ris};

std::string_view toString(Role role) noexcept;
std::optional<Role> parseRole(std::string_view name) noexcept;

// A set of roles. Default-constructed it is empty and grants nothing.
class RoleSet {
public:
    constexpr RoleSet() noexcept = default;
    constexpr RoleSet(std::initializer_list<Role> roles) noexcept {
        for (Role r : roles) add(r);
    }

    constexpr void add(Role r) noexcept { bits_ |= bit(r); }
    [[nodiscard]] constexpr bool has(Role r) const noexcept { return (bits_ & bit(r)) != 0; }
    [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }
    [[nodiscard]] constexpr bool intersects(RoleSet other) const noexcept {
        return (bits_ & other.bits_) != 0;
    }
    constexpr bool operator==(const RoleSet&) const noexcept = default;

    [[nodiscard]] std::vector<std::string> names() const;

private:
    static constexpr std::uint8_t bit(Role r) noexcept {
        return static_cast<std::uint8_t>(1U << static_cast<unsigned>(r));
    }
    std::uint8_t bits_ = 0;
};

// Who a command may be run by. `anyMappedRole` means any caller holding at
// least one role; a caller with no role is refused everything.
struct Permission {
    RoleSet roles;
    bool anyMappedRole = false;

    static Permission anyRole() noexcept { return Permission{{}, true}; }
    static Permission of(RoleSet r) noexcept { return Permission{r, false}; }

    // Default-constructed: nobody.
    [[nodiscard]] bool grants(RoleSet caller) const noexcept {
        if (caller.empty()) return false;
        return anyMappedRole || roles.intersects(caller);
    }
};

}  // namespace sealport::policy
