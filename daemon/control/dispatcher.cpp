#include "sealport/control/dispatcher.hpp"

#include <algorithm>

#include "sealport/core/crypto.hpp"
#include "sealport/core/log.hpp"

namespace sealport::control {

RoleMap::RoleMap(const core::RolesConfig& c) {
    auto addAll = [this](policy::Role role, const std::vector<core::Principal>& ps) {
        for (const auto& p : ps) entries_.emplace_back(role, p);
    };
    addAll(policy::Role::security, c.security);
    addAll(policy::Role::operator_, c.operator_);
    addAll(policy::Role::auditor, c.auditor);
    addAll(policy::Role::ris, c.ris);
}

policy::RoleSet RoleMap::rolesOf(const PeerCredentials& peer) const {
    policy::RoleSet roles;
    for (const auto& [role, principal] : entries_) {
        bool match = false;
        if (principal.kind == core::Principal::Kind::uid) {
            match = principal.id == peer.uid;
        } else {
            match = principal.id == peer.gid ||
                    std::find(peer.groups.begin(), peer.groups.end(), principal.id) !=
                        peer.groups.end();
        }
        if (match) roles.add(role);
    }
    return roles;
}

state::Actor Caller::actor() const {
    std::string role;
    for (const auto& n : roles.names()) role += (role.empty() ? "" : ",") + n;
    return state::Actor{peer.uid, peer.pid, role.empty() ? "none" : role};
}

std::string newCorrelationId() {
    std::uint8_t b[8];
    core::randomBytes(b);
    return core::toHex(b);
}

void CommandRegistry::add(std::string name, policy::Permission permission, CommandHandler handler) {
    commands_.insert_or_assign(std::move(name), Entry{permission, std::move(handler), {}});
}

void CommandRegistry::addBackground(std::string name, policy::Permission permission, BackgroundHandler handler) {
    commands_.insert_or_assign(std::move(name), Entry{permission, {}, std::move(handler)});
}

namespace {

// Handlers report refusals as CommandError; anything else is internal, and
// its details go to the journal, not to the client.
template <typename Fn>
nlohmann::json guarded(const std::string& command, Fn&& fn) {
    try {
        return okResponse(fn());
    } catch (const CommandError& e) {
        return errorResponse(e.kind(), e.what(), newCorrelationId());
    } catch (const std::exception& e) {
        const std::string id = newCorrelationId();
        core::log::error("command '" + command + "' failed [" + id + "]: " + e.what());
        return errorResponse(ErrorKind::internal, "internal error", id);
    }
}

}  // namespace

nlohmann::json CommandRegistry::dispatch(const Caller& caller, const Request& request) {
    Routed r = route(caller, request);
    if (r.response) return *r.response;
    const std::atomic<bool> notCancelled{false};
    return r.work(notCancelled);
}

std::vector<std::string> CommandRegistry::names() const {
    std::vector<std::string> out;
    for (const auto& [name, entry] : commands_) out.push_back(name);
    return out;
}

nlohmann::json CommandRegistry::refuse(const Caller& caller, const std::string& command,
                                       ErrorKind kind, const std::string& message,
                                       const std::string& reason) {
    const std::string id = newCorrelationId();
    audit_.append(caller.actor(), "control.refused", command, state::Outcome::refused,
                  {{"reason", reason}, {"correlation_id", id}, {"gid", caller.peer.gid}});
    return errorResponse(kind, message, id);
}

Routed CommandRegistry::route(const Caller& caller, const Request& request) {
    auto it = commands_.find(request.command);
    if (it == commands_.end()) {
        // Unknown commands are refused the same way for everyone, so that the
        // list of commands is not an oracle for unmapped callers.
        if (caller.roles.empty())
            return Routed{refuse(caller, request.command, ErrorKind::refused,
                                 "permission denied: your uid holds no sealport role", "no role"),
                          {}};
        return Routed{refuse(caller, request.command, ErrorKind::unknown_command,
                             "unknown command '" + request.command + "'", "unknown command"),
                      {}};
    }
    if (!it->second.permission.grants(caller.roles)) {
        std::string needed;
        if (it->second.permission.anyMappedRole) {
            needed = "any sealport role";
        } else {
            for (const auto& n : it->second.permission.roles.names())
                needed += (needed.empty() ? "the " : " or ") + n;
            needed += " role";
        }
        return Routed{refuse(caller, request.command, ErrorKind::refused,
                             "permission denied: '" + request.command + "' needs " + needed,
                             caller.roles.empty() ? "no role" : "role"),
                      {}};
    }
    const Entry& entry = it->second;
    const CommandContext ctx{caller, request.args};
    if (entry.handler) return Routed{guarded(request.command, [&] { return entry.handler(ctx); }), {}};
    BackgroundWork work;
    nlohmann::json failed = guarded(request.command, [&] {
        work = entry.background(ctx);
        return nlohmann::json::object();
    });
    if (!work) return Routed{std::move(failed), {}};
    return Routed{std::nullopt, [command = request.command, work = std::move(work)](const std::atomic<bool>& cancelled) {
                      return guarded(command, [&] { return work(cancelled); });
                  }};
}

std::string requireString(const nlohmann::json& args, const std::string& key) {
    auto it = args.find(key);
    if (it == args.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        throw CommandError(ErrorKind::invalid_argument, "missing argument '" + key + "'");
    return it->get<std::string>();
}

std::optional<std::int64_t> optionalInteger(const nlohmann::json& args, const std::string& key,
                                            std::int64_t lo, std::int64_t hi) {
    auto it = args.find(key);
    if (it == args.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer())
        throw CommandError(ErrorKind::invalid_argument, "'" + key + "' must be an integer");
    const auto v = it->get<std::int64_t>();
    if (v < lo || v > hi)
        throw CommandError(ErrorKind::invalid_argument, "'" + key + "' must be between " +
                                                            std::to_string(lo) + " and " +
                                                            std::to_string(hi));
    return v;
}

}  // namespace sealport::control
