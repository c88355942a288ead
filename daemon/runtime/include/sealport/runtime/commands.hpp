#pragma once

#include <string>
#include <vector>

#include "sealport/control/dispatcher.hpp"
#include "sealport/state/state.hpp"

namespace sealport::runtime {

// What `status` reports, kept current by the runtime.
struct StatusView {
    state::State* state = nullptr;
    state::ModeRecord mode;
    std::vector<std::string> alerts;
    std::string version;
};

// status, audit verify, audit tail.
void registerCoreCommands(control::CommandRegistry& registry, StatusView& status);

}  // namespace sealport::runtime
