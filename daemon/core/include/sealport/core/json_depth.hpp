#pragma once

#include <cstddef>
#include <string_view>

namespace sealport::core {

// nlohmann::json parses, copies and dumps nested values recursively: a body of
// 20,000 '[' overflows a thread's stack. Every parser of untrusted JSON checks
// the nesting first with this scan (brackets outside strings).
bool jsonNestedDeeperThan(std::string_view body, std::size_t limit) noexcept;

}  // namespace sealport::core
