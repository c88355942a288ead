#pragma once

#include <string>

#include "sealport/control/dispatcher.hpp"
#include "sealport/recovery/checklist.hpp"
#include "sealport/runtime/mode_controller.hpp"
#include "sealport/state/state.hpp"

namespace sealport::runtime {

// What the control commands act on.
struct Services {
    state::State& state;
    ModeController& mode;
    Tripwires& tripwires;
    recovery::Checklist& checklist;
    Alerts& alerts;
    const core::Clock& clock;
    std::string version;
};

// status, audit verify, audit tail, incident enter, incident exit, recovery check.
void registerCoreCommands(control::CommandRegistry& registry, Services& services);

}  // namespace sealport::runtime
