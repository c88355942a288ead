#pragma once

// Mode changes as a pure function: (state, event) -> (state', record). The
// daemon persists state' and the record together, then publishes the mode.
//
//   online --enter (security) or tripwire--> incident
//   incident --two approvals by distinct security officers within the window,
//              each with every recovery check green--> online
//
// Tripwires only ever enter incident mode; only people leave it.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sealport/policy/decision.hpp"

namespace sealport::policy {

struct Approval {
    std::uint32_t uid = 0;
    TimePoint at{};
    bool operator==(const Approval&) const = default;
};

struct ModeState {
    Mode mode = Mode::incident;  // default-constructed: fail secure
    TimePoint since{};
    std::string reason = "no mode record";
    std::vector<Approval> approvals;  // pending exit approvals (at most one)
    bool operator==(const ModeState&) const = default;
};

struct Event {
    enum class Kind : std::uint8_t { enter_incident, approve_exit, tripwire };
    Kind kind = Kind::tripwire;
    TimePoint now{};
    std::optional<std::uint32_t> uid;
    RoleSet roles;
    std::string reason;                // enter_incident: the officer's words; tripwire: what failed
    std::vector<CheckResult> checks;   // approve_exit
};

// What the audit chain records for the event.
struct TransitionRecord {
    std::string action;  // "incident.enter", "incident.exit", "incident.tripwire"
    Decision decision;
    bool modeChanged = false;
    std::vector<std::pair<std::string, std::string>> details;
};

struct TransitionResult {
    ModeState next;
    TransitionRecord record;
};

TransitionResult transition(const ModeState& state, const Event& event, const Settings& settings);

}  // namespace sealport::policy
