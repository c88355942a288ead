#include "sealport/runtime/commands.hpp"

namespace sealport::runtime {

using nlohmann::json;
using policy::Permission;
using policy::Role;

void registerCoreCommands(control::CommandRegistry& registry, StatusView& status) {
    registry.add("status", Permission::anyRole(), [&status](const control::CommandContext&) {
        json r;
        r["mode"] = policy::toString(status.mode.mode);
        r["mode_since"] = status.mode.since;
        r["reason"] = status.mode.reason;
        r["alerts"] = status.alerts;
        r["signer_fingerprint"] = status.state->signer().fingerprint();
        r["audit_entries"] = status.state->audit().entries();
        r["version"] = status.version;
        return r;
    });

    registry.add("audit verify", Permission::of({Role::auditor, Role::security}),
                 [&status](const control::CommandContext& ctx) {
                     auto& audit = status.state->audit();
                     auto event = audit.begin(ctx.caller.actor(), "audit.verify", "audit");
                     const auto result = audit.verify();
                     event.detail("ok", result.ok).detail("entries", result.entries);
                     if (result.firstBad) event.detail("first_bad", *result.firstBad);
                     event.succeed();
                     return result.toJson();
                 });

    registry.add("audit tail", Permission::of({Role::auditor, Role::security}),
                 [&status](const control::CommandContext& ctx) {
                     const auto n = control::optionalInteger(ctx.args, "n", 1, 10000).value_or(20);
                     json entries = json::array();
                     for (const auto& r : status.state->audit().tail(static_cast<std::size_t>(n)))
                         entries.push_back(r.toJson());
                     return json{{"entries", std::move(entries)}};
                 });
}

}  // namespace sealport::runtime
