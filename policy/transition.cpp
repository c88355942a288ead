#include "sealport/policy/transition.hpp"

namespace sealport::policy {
namespace {

std::string uidText(std::optional<std::uint32_t> uid) {
    return uid ? "uid " + std::to_string(*uid) : std::string("an unidentified caller");
}

TransitionResult enter(const ModeState& s, const Event& e, const Settings& settings) {
    Context ctx;
    ctx.now = e.now;
    ctx.callerUid = e.uid;
    ctx.roles = e.roles;
    TransitionResult r{s, {"incident.enter", decide(s.mode, Action::enter_incident, ctx, settings), false, {}}};
    r.record.details.emplace_back("reason", e.reason);
    if (!r.record.decision.allowed()) return r;
    // Entering again while in incident: the mode stays, and any pending exit
    // approval is void — someone just said the incident is not over.
    r.next.approvals.clear();
    if (s.mode == Mode::incident) {
        r.record.decision.rule = "incident.already";
        r.record.decision.reasons = {"already in incident mode; pending exit approvals withdrawn"};
        return r;
    }
    r.next.mode = Mode::incident;
    r.next.since = e.now;
    r.next.reason = e.reason;
    r.record.modeChanged = true;
    return r;
}

TransitionResult tripwire(const ModeState& s, const Event& e) {
    TransitionResult r{s, {"incident.tripwire", Decision{Verdict::allow, "tripwire", {e.reason}}, false, {}}};
    r.record.details.emplace_back("tripwire", e.reason);
    r.next.approvals.clear();
    if (s.mode == Mode::incident) {
        r.record.decision.rule = "tripwire.already-incident";
        return r;
    }
    r.next.mode = Mode::incident;
    r.next.since = e.now;
    r.next.reason = "tripwire: " + e.reason;
    r.record.modeChanged = true;
    return r;
}

TransitionResult approveExit(const ModeState& s, const Event& e, const Settings& settings) {
    Context ctx;
    ctx.now = e.now;
    ctx.callerUid = e.uid;
    ctx.roles = e.roles;
    ctx.checks = e.checks;
    TransitionResult r{s, {"incident.exit", decide(s.mode, Action::approve_exit, ctx, settings), false, {}}};
    r.record.details.emplace_back("approver", uidText(e.uid));
    Decision& d = r.record.decision;
    if (!d.allowed()) return r;

    const std::uint32_t uid = *e.uid;
    if (!s.approvals.empty()) {
        const Approval& first = s.approvals.front();
        // A clock that went backwards cannot make an approval younger than it is.
        if (e.now < first.at || e.now - first.at > settings.exitApprovalWindow) {
            r.next.approvals.clear();
            d = Decision{Verdict::deny, "exit.approval-expired",
                         {"the first approval (uid " + std::to_string(first.uid) +
                          ") is older than the " +
                          std::to_string(settings.exitApprovalWindow.count()) +
                          "-minute window and was withdrawn; two officers must approve again"}};
            return r;
        }
        if (first.uid == uid) {
            d = Decision{Verdict::deny, "exit.same-officer",
                         {"uid " + std::to_string(uid) +
                          " already approved; a second, different security officer must approve"}};
            return r;
        }
        r.next.mode = Mode::online;
        r.next.since = e.now;
        r.next.reason = "incident closed by uid " + std::to_string(first.uid) + " and uid " +
                        std::to_string(uid);
        r.next.approvals.clear();
        r.record.modeChanged = true;
        d = Decision{Verdict::allow, "exit.second-approval",
                     {"second approval by a different officer within the window, checks green"}};
        r.record.details.emplace_back("first_approver", "uid " + std::to_string(first.uid));
        return r;
    }
    r.next.approvals = {Approval{uid, e.now}};
    d = Decision{Verdict::allow, "exit.first-approval",
                 {"first approval recorded; a different security officer must approve within " +
                  std::to_string(settings.exitApprovalWindow.count()) + " minutes"}};
    return r;
}

}  // namespace

TransitionResult transition(const ModeState& state, const Event& event, const Settings& settings) {
    switch (event.kind) {
        case Event::Kind::enter_incident: return enter(state, event, settings);
        case Event::Kind::tripwire: return tripwire(state, event);
        case Event::Kind::approve_exit: return approveExit(state, event, settings);
    }
    return TransitionResult{state, {"incident.unknown", Decision{}, false, {}}};
}

}  // namespace sealport::policy
