#include "sealport/runtime/commands.hpp"

#include "sealport/state/links.hpp"

namespace sealport::runtime {

using nlohmann::json;
using policy::Permission;
using policy::Role;

namespace {

json checksJson(const std::vector<policy::CheckResult>& checks) {
    json out = json::array();
    for (const auto& c : checks) out.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    return out;
}

json decisionJson(const ModeController::Result& r, const policy::ModeState& now) {
    const auto& d = r.record.decision;
    return json{{"accepted", d.allowed()},
                {"rule", d.rule},
                {"reasons", d.reasons},
                {"mode", policy::toString(now.mode)},
                {"changed", r.record.modeChanged},
                {"audit_seq", r.auditSeq}};
}

// A refused transition is still a recorded decision; the client gets the reasons.
json acceptedOrThrow(json result) {
    if (result.at("accepted").get<bool>()) return result;
    std::string why;
    for (const auto& r : result.at("reasons")) why += (why.empty() ? "" : "; ") + r.get<std::string>();
    throw control::CommandError(control::ErrorKind::refused,
                                "refused (" + result.at("rule").get<std::string>() + "): " + why +
                                    " [audit entry #" + std::to_string(result.at("audit_seq").get<std::int64_t>()) + "]");
}

// The checklist's audit-chain check is also a tripwire: red here trips at once
// rather than at the next periodic verification.
std::vector<policy::CheckResult> runChecklist(Services& s) {
    auto checks = s.checklist.run();
    for (const auto& c : checks)
        if (c.name == "audit-chain" && !c.ok) s.tripwires.auditChainVerified(s.state.audit().verify());
    return checks;
}

}  // namespace

void registerCoreCommands(control::CommandRegistry& registry, Services& s) {
    registry.add("status", Permission::anyRole(), [&s](const control::CommandContext&) {
        const auto mode = s.mode.state();
        json approvals = json::array();
        for (const auto& a : mode.approvals)
            approvals.push_back({{"uid", a.uid},
                                 {"at", core::formatUtc(a.at)},
                                 {"expires_at", core::formatUtc(a.at + s.mode.settings().exitApprovalWindow)}});
        json r;
        r["mode"] = policy::toString(mode.mode);
        r["mode_since"] = core::formatUtc(mode.since);
        r["reason"] = mode.reason;
        r["exit_approvals"] = approvals;
        r["alerts"] = s.alerts.all();
        r["signer_fingerprint"] = s.state.signer().fingerprint();
        r["studies"] = s.state.catalogue().studyCount();
        const auto dicom = s.dicomPort ? s.dicomPort() : std::nullopt;
        r["dicom_port"] = dicom ? json(*dicom) : json();
        const auto https = s.httpsPort ? s.httpsPort() : std::nullopt;
        r["https_port"] = https ? json(*https) : json();
        r["links_active"] = state::LinkStore(s.state.db()).countLive(
            std::chrono::duration_cast<std::chrono::milliseconds>(s.clock.now().time_since_epoch()).count());
        r["audit_entries"] = s.state.audit().entries();
        r["version"] = s.version;
        return r;
    });

    registry.add("audit verify", Permission::of({Role::auditor, Role::security}),
                 [&s](const control::CommandContext& ctx) {
                     auto event = s.state.audit().begin(ctx.caller.actor(), "audit.verify", "audit");
                     const auto result = s.state.audit().verify();
                     event.detail("ok", result.ok).detail("entries", result.entries);
                     if (result.firstBad) event.detail("first_bad", *result.firstBad);
                     event.succeed();
                     // On demand is also a tripwire: a break found here enters incident mode.
                     s.tripwires.auditChainVerified(result);
                     return result.toJson();
                 });

    registry.add("audit tail", Permission::of({Role::auditor, Role::security}),
                 [&s](const control::CommandContext& ctx) {
                     const auto n = control::optionalInteger(ctx.args, "n", 1, 10000).value_or(20);
                     // Reading the audit is itself recorded: who looked at what was released.
                     s.state.audit().append(ctx.caller.actor(), "audit.read", "audit",
                                            state::Outcome::success, {{"n", n}});
                     json entries = json::array();
                     for (const auto& r : s.state.audit().tail(static_cast<std::size_t>(n)))
                         entries.push_back(r.toJson());
                     return json{{"entries", std::move(entries)}};
                 });

    registry.add("incident enter", Permission::of({Role::security}),
                 [&s](const control::CommandContext& ctx) {
                     const std::string reason = control::requireString(ctx.args, "reason");
                     if (reason.size() > 500)
                         throw control::CommandError(control::ErrorKind::invalid_argument,
                                                     "the reason is limited to 500 characters");
                     policy::Event e;
                     e.kind = policy::Event::Kind::enter_incident;
                     e.uid = ctx.caller.peer.uid;
                     e.roles = ctx.caller.roles;
                     e.reason = reason;
                     const auto r = s.mode.apply(e, ctx.caller.actor());
                     return acceptedOrThrow(decisionJson(r, s.mode.state()));
                 });

    registry.add("incident exit", Permission::of({Role::security}),
                 [&s](const control::CommandContext& ctx) {
                     policy::Event e;
                     e.kind = policy::Event::Kind::approve_exit;
                     e.uid = ctx.caller.peer.uid;
                     e.roles = ctx.caller.roles;
                     e.checks = runChecklist(s);
                     const auto r = s.mode.apply(e, ctx.caller.actor());
                     json out = decisionJson(r, s.mode.state());
                     out["checks"] = checksJson(e.checks);
                     const auto st = s.mode.state();
                     if (!st.approvals.empty())
                         out["approval_expires_at"] =
                             core::formatUtc(st.approvals.front().at + s.mode.settings().exitApprovalWindow);
                     return acceptedOrThrow(out);
                 });

    registry.add("recovery check", Permission::of({Role::security}),
                 [&s](const control::CommandContext&) {
                     const auto checks = runChecklist(s);
                     return json{{"checks", checksJson(checks)},
                                 {"ready", recovery::Checklist::allGreen(checks)},
                                 {"mode", policy::toString(s.mode.state().mode)}};
                 });
}

}  // namespace sealport::runtime
