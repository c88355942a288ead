#pragma once

#include <functional>
#include <optional>
#include <string>

#include "sealport/control/dispatcher.hpp"
#include "sealport/links/service.hpp"
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
    const core::ModeGate& gate;
    const policy::Settings& policy;
    std::size_t maxObjectBytes;
    std::string version;
    std::function<std::optional<std::uint16_t>()> dicomPort;
    std::function<std::optional<std::uint16_t>()> httpsPort;
    links::LinkService* links = nullptr;  // null when no HTTPS listener is configured
};

// status, audit verify, audit tail, incident enter, incident exit, recovery check.
void registerCoreCommands(control::CommandRegistry& registry, Services& services);
// import (in the background), studies, study.
void registerCatalogueCommands(control::CommandRegistry& registry, Services& services);
// link create/list/revoke, apikey create/list/revoke.
void registerLinkCommands(control::CommandRegistry& registry, Services& services);

}  // namespace sealport::runtime
