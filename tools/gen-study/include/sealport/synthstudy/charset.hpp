#pragma once

#include <string>
#include <string_view>

#include "sealport/synthstudy/spec.hpp"

namespace sealport::synthstudy {

// The value of Specific Character Set (0008,0005); empty for the default repertoire.
std::string_view specificCharacterSet(Charset charset);

[[nodiscard]] bool isValidUtf8(std::string_view text);
[[nodiscard]] bool isAscii(std::string_view text);
// Number of code points of valid UTF-8.
[[nodiscard]] std::size_t codePointCount(std::string_view utf8);

// UTF-8 to the bytes a file in `charset` holds. Throws UsageError naming
// `what` when the text cannot be represented.
std::string encodeText(std::string_view utf8, Charset charset, std::string_view what);

}  // namespace sealport::synthstudy
