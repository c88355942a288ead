#include "sealport/policy/mode.hpp"

namespace sealport::policy {

std::string_view toString(Mode mode) noexcept {
    switch (mode) {
        case Mode::online: return "online";
        case Mode::incident: return "incident";
    }
    return "unknown";
}

std::optional<Mode> parseMode(std::string_view name) noexcept {
    if (name == "online") return Mode::online;
    if (name == "incident") return Mode::incident;
    return std::nullopt;
}

}  // namespace sealport::policy
