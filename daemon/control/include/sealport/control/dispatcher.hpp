#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <optional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "sealport/control/protocol.hpp"
#include "sealport/core/config.hpp"
#include "sealport/policy/roles.hpp"
#include "sealport/state/audit.hpp"

namespace sealport::control {

// The kernel's word on who is on the other end of the socket (SO_PEERCRED,
// SO_PEERGROUPS), taken when the connection was accepted.
struct PeerCredentials {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::int32_t pid = 0;
    std::vector<std::uint32_t> groups;  // supplementary groups
};

// [roles] as a lookup: uid:N matches the peer's uid, gid:N its primary or any
// supplementary group. Nothing is granted to a peer that matches nothing.
class RoleMap {
public:
    RoleMap() = default;
    explicit RoleMap(const core::RolesConfig& config);
    [[nodiscard]] policy::RoleSet rolesOf(const PeerCredentials& peer) const;

private:
    std::vector<std::pair<policy::Role, core::Principal>> entries_;
};

struct Caller {
    PeerCredentials peer;
    policy::RoleSet roles;
    [[nodiscard]] state::Actor actor() const;
};

// What a handler throws for a request it will not carry out; the message goes
// to the client.
class CommandError : public std::runtime_error {
public:
    CommandError(ErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }

private:
    ErrorKind kind_;
};

struct CommandContext {
    const Caller& caller;
    const nlohmann::json& args;
};

using CommandHandler = std::function<nlohmann::json(const CommandContext&)>;

// Long work (an import of thousands of files) must not stall the main loop,
// which also pings the watchdog. Such a command checks its arguments on the
// loop and returns the work; the work runs on a thread of its own, uses only
// thread-safe resources, and should return early once `cancelled` is set.
using BackgroundWork = std::function<nlohmann::json(const std::atomic<bool>& cancelled)>;
using BackgroundHandler = std::function<BackgroundWork(const CommandContext&)>;

// The outcome of routing a request: an immediate response, or work to run.
struct Routed {
    std::optional<nlohmann::json> response;
    std::function<nlohmann::json(const std::atomic<bool>& cancelled)> work;
};

// Each command declares who may run it where it is registered; dispatch() is
// the one place that enforces it, and every refusal is audited.
class CommandRegistry {
public:
    explicit CommandRegistry(state::AuditLog& audit) : audit_(audit) {}

    void add(std::string name, policy::Permission permission, CommandHandler handler);
    void addBackground(std::string name, policy::Permission permission, BackgroundHandler handler);

    // Role check (refusals audited), then the handler: its response, or the
    // background work with errors translated into responses.
    [[nodiscard]] Routed route(const Caller& caller, const Request& request);
    // route() and, for background commands, the work on this thread.
    [[nodiscard]] nlohmann::json dispatch(const Caller& caller, const Request& request);

    [[nodiscard]] std::vector<std::string> names() const;

private:
    struct Entry {
        policy::Permission permission;
        CommandHandler handler;
        BackgroundHandler background;
    };
    nlohmann::json refuse(const Caller& caller, const std::string& command, ErrorKind kind,
                          const std::string& message, const std::string& reason);

    state::AuditLog& audit_;
    std::map<std::string, Entry> commands_;
};

std::string newCorrelationId();

// Typed access to request arguments; throws CommandError(invalid_argument).
std::string requireString(const nlohmann::json& args, const std::string& key);
std::optional<std::int64_t> optionalInteger(const nlohmann::json& args, const std::string& key,
                                            std::int64_t lo, std::int64_t hi);

}  // namespace sealport::control
