#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sealport/core/clock.hpp"
#include "sealport/core/mode_gate.hpp"
#include "sealport/core/notify.hpp"
#include "sealport/policy/token_meter.hpp"
#include "sealport/policy/transition.hpp"
#include "sealport/state/state.hpp"

namespace sealport::runtime {

// Alerts that need a person: shown in `status` and sent to the journal.
class Alerts {
public:
    // Raises an alert once: the same text again is not repeated. Returns
    // whether it was new.
    bool raise(const std::string& alert);
    [[nodiscard]] std::vector<std::string> all() const;
    // Called after each new alert (the runtime refreshes STATUS=). Must not
    // call back into the raiser synchronously.
    void onRaise(std::function<void()> listener);

private:
    mutable std::mutex mutex_;
    std::vector<std::string> alerts_;
    std::function<void()> listener_;
};

// Owns the mode: runs the pure transition, commits the new mode and its audit
// entry in one transaction, then publishes it through the ModeGate (and
// STATUS=, and the journal) before returning to the caller.
class ModeController {
public:
    ModeController(state::State& state, core::ModeGate& gate, const policy::Settings& settings,
                   const core::Clock& clock, const core::ServiceNotifier& notifier, Alerts& alerts);

    // At start, before READY: restores the persisted mode, or enters incident
    // mode (fail secure) when the record is missing, unverifiable, or the audit
    // chain does not verify.
    void restore();

    struct Result {
        policy::TransitionRecord record;
        std::int64_t auditSeq = 0;
    };
    // Runs one event (its time is set from the clock here) and returns what was
    // recorded. Throws if the state cannot be written (see failSecure in the .cpp).
    Result apply(const policy::Event& event, const state::Actor& actor);

    // A copy: the state may change on another thread right after.
    [[nodiscard]] policy::ModeState state() const;
    [[nodiscard]] std::string statusLine() const;
    [[nodiscard]] const policy::Settings& settings() const noexcept { return settings_; }

private:
    void failSecure(const std::string& reason);
    void publish();
    std::string statusLineLocked() const;

    mutable std::mutex mutex_;  // serializes transitions; guards state_
    state::State& store_;
    core::ModeGate& gate_;
    const policy::Settings& settings_;
    const core::Clock& clock_;
    const core::ServiceNotifier& notifier_;
    Alerts& alerts_;
    policy::ModeState state_;
};

// `sealportd --init`: commissions a new, empty state in online mode, recorded
// as the installer's act. Refuses a state that already holds anything.
void initializeState(state::State& state, const core::Clock& clock, const state::Actor& installer);

// Tripwires put the appliance into incident mode by themselves; they never
// take it out. The links capability reports failed token look-ups here.
class Tripwires {
public:
    Tripwires(ModeController& mode, Alerts& alerts, const policy::Settings& settings);

    // A verification of the audit chain (periodic or on demand). A break trips.
    void auditChainVerified(const state::AuditVerification& v);
    // One failed token look-up from `client`. Crossing the policy's rate raises
    // an alert and, if the policy says so, trips incident mode.
    void failedTokenLookup(const std::string& client, policy::TimePoint now);

private:
    void trip(const std::string& reason);

    ModeController& mode_;
    Alerts& alerts_;
    const policy::Settings& settings_;
    std::mutex meterMutex_;  // guards meter_ and lastBreak_
    policy::FailedTokenMeter meter_;
    std::string lastBreak_;  // a break already tripped on is not tripped on again
};

}  // namespace sealport::runtime
