// link create/list/revoke and apikey create/list/revoke on the control socket.
#include "sealport/core/log.hpp"
#include "sealport/runtime/commands.hpp"
#include "sealport/state/links.hpp"

namespace sealport::runtime {

using nlohmann::json;
using policy::Permission;
using policy::Role;

namespace {

std::int64_t millis(policy::TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string utc(std::int64_t ms) { return core::formatUtc(core::SystemTime(std::chrono::milliseconds(ms))); }

std::optional<std::uint32_t> positive(const json& args, const char* key) {
    auto it = args.find(key);
    if (it == args.end()) return std::nullopt;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 100000)
        throw control::CommandError(control::ErrorKind::invalid_argument,
                                    std::string(key) + " must be a whole number, at least 1");
    return static_cast<std::uint32_t>(it->get<std::int64_t>());
}

std::string text(const json& args, const char* key, bool required) {
    auto it = args.find(key);
    if (it == args.end()) {
        if (required) throw control::CommandError(control::ErrorKind::invalid_argument, std::string(key) + " is required");
        return {};
    }
    if (!it->is_string()) throw control::CommandError(control::ErrorKind::invalid_argument, std::string(key) + " must be text");
    return it->get<std::string>();
}

json linkJson(const state::LinkRecord& l, std::int64_t nowMs) {
    return json{{"id", l.id},
                {"state", state::toString(l.stateAt(nowMs))},
                {"studies", l.studyUids},
                {"recipient", l.recipient},
                {"created_by", l.createdBy},
                {"created_at", utc(l.createdMs)},
                {"expires_at", utc(l.expiresMs)},
                {"downloads", l.downloads},
                {"max_downloads", l.maxDownloads},
                {"revoked_at", l.revokedMs ? json(utc(*l.revokedMs)) : json()}};
}

json keyJson(const state::ApiKeyRecord& k) {
    return json{{"id", k.id},
                {"name", k.name},
                {"role", k.role},
                {"created_at", k.createdAt},
                {"created_by", k.createdBy},
                {"revoked_at", k.revokedAt ? json(*k.revokedAt) : json()},
                {"last_used_at", k.lastUsedAt ? json(*k.lastUsedAt) : json()}};
}

void requireLinks(const Services& s) {
    if (s.links == nullptr)
        throw control::CommandError(control::ErrorKind::unavailable,
                                    "online links are not configured: [links] tls_cert and tls_key are not set");
}

}  // namespace

void registerLinkCommands(control::CommandRegistry& registry, Services& s) {
    // The CRC-32 of every instance is computed when a link is first made for
    // its study, which reads the study once: off the main loop.
    registry.addBackground(
        "link create", Permission::of({Role::operator_, Role::ris}),
        [&s](const control::CommandContext& ctx) -> control::BackgroundWork {
            requireLinks(s);
            links::LinkRequest req;
            auto it = ctx.args.find("studies");
            if (it == ctx.args.end() || !it->is_array() || it->empty())
                throw control::CommandError(control::ErrorKind::invalid_argument, "link create needs --study UID");
            for (const auto& u : *it) {
                if (!u.is_string()) throw control::CommandError(control::ErrorKind::invalid_argument, "study UIDs are text");
                req.studyUids.push_back(u.get<std::string>());
            }
            req.recipient = text(ctx.args, "recipient", false);
            req.ttlDays = positive(ctx.args, "ttl_days");
            req.maxDownloads = positive(ctx.args, "max_downloads");
            const state::Actor actor = ctx.caller.actor();
            const policy::RoleSet roles = ctx.caller.roles;
            const std::uint32_t uid = ctx.caller.peer.uid;
            return [&s, req, actor, roles, uid](const std::atomic<bool>&) -> json {
                auto conn = s.state.connect(s.clock);
                auto issued = s.links->issue(links::StateAccess{conn->db, conn->audit, conn->catalogue}, req, actor,
                                             roles, uid, "uid:" + std::to_string(uid), "local");
                if (auto* no = std::get_if<links::LinkRefusal>(&issued)) {
                    const auto kind = no->kind == links::LinkRefusal::Kind::invalid ? control::ErrorKind::invalid_argument
                                      : no->kind == links::LinkRefusal::Kind::unknown_study ? control::ErrorKind::not_found
                                                                                           : control::ErrorKind::refused;
                    throw control::CommandError(kind, no->rule.empty() ? no->message
                                                                       : "refused (" + no->rule + "): " + no->message);
                }
                const auto& il = std::get<links::IssuedLink>(issued);
                return json{{"id", il.link.id}, {"url", il.url}, {"expires_at", il.expiresAt},
                            {"max_downloads", il.link.maxDownloads}, {"studies", il.link.studyUids}};
            };
        });

    registry.add("link list", Permission::of({Role::operator_, Role::auditor, Role::security}),
                 [&s](const control::CommandContext&) {
                     const auto now = millis(s.clock.now());
                     json list = json::array();
                     for (const auto& l : state::LinkStore(s.state.db()).list()) list.push_back(linkJson(l, now));
                     return json{{"links", list}};
                 });

    registry.add("link revoke", Permission::of({Role::operator_, Role::security}),
                 [&s](const control::CommandContext& ctx) {
                     const std::string id = text(ctx.args, "id", true);
                     const auto now = millis(s.clock.now());
                     state::Database::Transaction tx(s.state.db());
                     const bool revoked =
                         state::LinkStore(s.state.db()).revoke(id, now, "revoked by uid " + std::to_string(ctx.caller.peer.uid));
                     s.state.audit().append(ctx.caller.actor(), "link.revoke", id,
                                            revoked ? state::Outcome::success : state::Outcome::refused,
                                            {{"remote", "local"}, {"reason", revoked ? "" : "no such live link"}});
                     tx.commit();
                     if (!revoked)
                         throw control::CommandError(control::ErrorKind::not_found,
                                                     "no link " + id + " that is not already revoked");
                     return linkJson(*state::LinkStore(s.state.db()).byId(id), now);
                 });

    registry.add("apikey create", Permission::of({Role::security}), [&s](const control::CommandContext& ctx) {
        const std::string name = text(ctx.args, "name", true);
        if (name.empty() || name.size() > 128)
            throw control::CommandError(control::ErrorKind::invalid_argument, "the name must be 1 to 128 characters");
        std::string role = text(ctx.args, "role", false);
        if (role.empty()) role = "ris";
        if (role != "ris" && role != "operator")
            throw control::CommandError(control::ErrorKind::invalid_argument, "an API key's role is ris or operator");
        state::Database::Transaction tx(s.state.db());
        const auto created = state::ApiKeyStore(s.state.db())
                                 .create(name, role, core::formatUtc(s.clock.now()),
                                         "uid:" + std::to_string(ctx.caller.peer.uid));
        s.state.audit().append(ctx.caller.actor(), "apikey.create", created.key.id, state::Outcome::success,
                               {{"name", name}, {"role", role}});
        tx.commit();
        json r = keyJson(created.key);
        r["key"] = created.secret;  // shown this once; only its SHA-256 is kept
        r["note"] = "store this key now: it cannot be shown again";
        return r;
    });

    registry.add("apikey list", Permission::of({Role::security}), [&s](const control::CommandContext&) {
        json list = json::array();
        for (const auto& k : state::ApiKeyStore(s.state.db()).list()) list.push_back(keyJson(k));
        return json{{"keys", list}};
    });

    registry.add("apikey revoke", Permission::of({Role::security}), [&s](const control::CommandContext& ctx) {
        const std::string id = text(ctx.args, "id", true);
        state::Database::Transaction tx(s.state.db());
        const bool revoked = state::ApiKeyStore(s.state.db()).revoke(id, core::formatUtc(s.clock.now()));
        s.state.audit().append(ctx.caller.actor(), "apikey.revoke", id,
                               revoked ? state::Outcome::success : state::Outcome::refused, json::object());
        tx.commit();
        if (!revoked) throw control::CommandError(control::ErrorKind::not_found, "no API key " + id + " that is not already revoked");
        return json{{"id", id}, {"revoked", true}};
    });
}

}  // namespace sealport::runtime
