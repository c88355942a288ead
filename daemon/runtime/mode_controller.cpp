#include "sealport/runtime/mode_controller.hpp"

#include <algorithm>

#include "sealport/core/log.hpp"

namespace sealport::runtime {
namespace {

// journalctl MESSAGE_ID= values, stable across releases.
constexpr std::string_view kAlertMessageId = "b7e2d0f4a5c64e1f9d3a8b2c6e0f1a47";
constexpr std::string_view kIncidentEnteredMessageId = "e3a1c9d25b7f4e0a8c6d1f2b9a4e7c35";
constexpr std::string_view kIncidentExitedMessageId = "5c2e8f0a1d9b4c7ea3f6b0d2e8c1a94f";

std::string modeName(policy::Mode m) { return std::string(policy::toString(m)); }

}  // namespace

bool Alerts::raise(const std::string& alert) {
    std::function<void()> listener;
    {
        std::lock_guard lock(mutex_);
        if (std::find(alerts_.begin(), alerts_.end(), alert) != alerts_.end()) return false;
        alerts_.push_back(alert);
        listener = listener_;
    }
    core::log::journal(core::log::Priority::warning, kAlertMessageId, "ALERT: " + alert,
                       {{"SEALPORT_ALERT", alert}});
    core::log::warning("ALERT: " + alert);
    if (listener) listener();
    return true;
}

void Alerts::onRaise(std::function<void()> listener) {
    std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
}

std::vector<std::string> Alerts::all() const {
    std::lock_guard lock(mutex_);
    return alerts_;
}

ModeController::ModeController(state::State& state, core::ModeGate& gate,
                               const policy::Settings& settings, const core::Clock& clock,
                               const core::ServiceNotifier& notifier, Alerts& alerts)
    : store_(state), gate_(gate), settings_(settings), clock_(clock), notifier_(notifier), alerts_(alerts) {}

void ModeController::restore() {
    std::lock_guard lock(mutex_);
    const auto verification = store_.audit().verify();
    std::optional<std::string> distrust;
    if (!verification.ok)
        distrust = "audit chain does not verify at entry " +
                   std::to_string(verification.firstBad.value_or(0)) + ": " + verification.reason;

    auto record = state::loadModeRecord(store_.db());
    if (!record && store_.created()) {
        // Only `sealportd --init` commissions a new state online. A state that
        // appears at start (first start without --init, or one deleted by
        // someone who wanted incident mode gone) starts in incident mode.
        distrust = distrust.value_or(
            "no state was found, so a new empty one was created; a new installation is "
            "commissioned with 'sealportd --init' before its first start");
    } else if (!record) {
        distrust = distrust.value_or("mode record missing or unreadable");
    } else if (auto why = state::checkModeRecordAgainstAudit(store_.db(), *record)) {
        distrust = distrust.value_or(*why);
    } else {
        state_ = record->state;
    }
    if (distrust) failSecure(*distrust);
    publish();
}

void initializeState(state::State& store, const core::Clock& clock, const state::Actor& installer) {
    if (state::loadModeRecord(store.db()) || store.audit().entries() > 0)
        throw std::runtime_error("the state in this directory is already initialized; refusing to touch it");
    state::Database::Transaction tx(store.db());
    auto entry = store.audit().append(installer, "state.created", store.databasePath().filename().string(),
                                      state::Outcome::success,
                                      {{"schema", state::kSchemaVersion}, {"mode", "online"}, {"record_written", true}});
    state::saveModeRecord(store.db(), {policy::ModeState{policy::Mode::online, clock.now(), "new state", {}}, entry.seq});
    tx.commit();
}

void ModeController::failSecure(const std::string& reason) {
    alerts_.raise(reason + "; starting in incident mode");
    state_ = policy::ModeState{policy::Mode::incident, clock_.now(), "fail-secure start: " + reason, {}};
    state::Database::Transaction tx(store_.db());
    auto entry = store_.audit().append(state::Actor::daemon(), "mode.fail_secure", "incident",
                                       state::Outcome::success,
                                       {{"reason", reason}, {"mode", "incident"}, {"record_written", true}});
    state::saveModeRecord(store_.db(), {state_, entry.seq});
    tx.commit();
}

policy::ModeState ModeController::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

ModeController::Result ModeController::apply(const policy::Event& request, const state::Actor& actor) {
    std::lock_guard lock(mutex_);
    policy::Event event = request;
    event.now = clock_.now();  // the controller owns the clock; the transition is pure
    const policy::Mode before = state_.mode;
    policy::TransitionResult t = policy::transition(state_, event, settings_);
    const auto& d = t.record.decision;

    nlohmann::json details = {{"verdict", policy::toString(d.verdict)},
                              {"rule", d.rule},
                              {"reasons", d.reasons},
                              {"mode_before", modeName(before)},
                              {"mode", modeName(t.next.mode)},
                              {"changed", t.record.modeChanged}};
    for (const auto& [k, v] : t.record.details) details[k] = v;
    // The record is rewritten for every accepted event and for any change, so
    // that it always names the latest mode entry (see checkModeRecordAgainstAudit).
    const bool writeRecord = d.allowed() || !(t.next == state_);
    details["record_written"] = writeRecord;
    if (event.kind == policy::Event::Kind::approve_exit) {
        nlohmann::json checks = nlohmann::json::array();
        for (const auto& c : event.checks) checks.push_back({{"name", c.name}, {"ok", c.ok}});
        details["checks"] = checks;
    }

    Result result{t.record, 0};
    try {
        state::Database::Transaction tx(store_.db());
        auto entry = store_.audit().append(actor, t.record.action, modeName(t.next.mode),
                                           d.allowed() ? state::Outcome::success
                                                       : state::Outcome::refused,
                                           details);
        result.auditSeq = entry.seq;
        if (writeRecord) state::saveModeRecord(store_.db(), {t.next, entry.seq});
        tx.commit();
    } catch (...) {
        // Could not persist. Entering incident mode still takes effect in
        // memory (fail secure); leaving it does not.
        if (t.next.mode == policy::Mode::incident && before == policy::Mode::online) {
            state_ = t.next;
            publish();
            alerts_.raise("incident mode entered but could not be persisted; it will not survive a restart");
        }
        throw;
    }
    state_ = t.next;
    if (t.record.modeChanged) {
        publish();
        const bool entered = state_.mode == policy::Mode::incident;
        core::log::journal(entered ? core::log::Priority::warning : core::log::Priority::notice,
                           entered ? kIncidentEnteredMessageId : kIncidentExitedMessageId,
                           entered ? "INCIDENT MODE ENTERED: " + state_.reason
                                   : "incident mode left: " + state_.reason,
                           {{"SEALPORT_MODE", modeName(state_.mode)},
                            {"SEALPORT_AUDIT_SEQ", std::to_string(result.auditSeq)},
                            {"SEALPORT_ACTOR_UID", actor.uid ? std::to_string(*actor.uid) : ""}});
        core::log::warning(entered ? "incident mode entered: " + state_.reason
                                   : "incident mode left: " + state_.reason);
    }
    return result;
}

void ModeController::publish() {
    gate_.publish(state_.mode);
    notifier_.status(statusLineLocked());
}

std::string ModeController::statusLine() const {
    std::lock_guard lock(mutex_);
    return statusLineLocked();
}

std::string ModeController::statusLineLocked() const {
    std::string line = "mode " + modeName(state_.mode);
    if (state_.mode == policy::Mode::incident) line += " (online sharing suspended: " + state_.reason + ")";
    if (!alerts_.all().empty()) line += "; " + std::to_string(alerts_.all().size()) + " alert(s)";
    return line;
}

Tripwires::Tripwires(ModeController& mode, Alerts& alerts, const policy::Settings& settings)
    : mode_(mode)
    , alerts_(alerts)
    , settings_(settings)
    , meter_(settings.failedTokenThreshold, settings.failedTokenWindow) {}

void Tripwires::trip(const std::string& reason) {
    policy::Event e;
    e.kind = policy::Event::Kind::tripwire;
    e.reason = reason;
    mode_.apply(e, state::Actor::daemon());
}

void Tripwires::auditChainVerified(const state::AuditVerification& v) {
    if (v.ok) return;
    const std::string reason = "audit chain broken at entry " + std::to_string(v.firstBad.value_or(0)) +
                               ": " + v.reason;
    {
        std::lock_guard lock(meterMutex_);
        if (reason == lastBreak_) return;  // already tripped on this break
        lastBreak_ = reason;
    }
    alerts_.raise(reason);
    trip(reason);
}

void Tripwires::failedTokenLookup(const std::string& client, policy::TimePoint now) {
    policy::FailedTokenMeter::Level level;
    {
        std::lock_guard lock(meterMutex_);
        level = meter_.record(client, now);
    }
    if (level != policy::FailedTokenMeter::Level::crossed) return;
    const std::string reason = std::to_string(settings_.failedTokenThreshold) +
                               " failed link-token look-ups from " + client + " within " +
                               std::to_string(settings_.failedTokenWindow.count()) + " s";
    alerts_.raise(reason);
    if (settings_.failedTokensTripIncident) trip(reason);
}

}  // namespace sealport::runtime
