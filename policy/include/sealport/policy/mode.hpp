#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sealport::policy {

// The appliance's operating mode (design.md, "Modes").
enum class Mode : std::uint8_t { online, incident };

std::string_view toString(Mode mode) noexcept;
std::optional<Mode> parseMode(std::string_view name) noexcept;

}  // namespace sealport::policy
