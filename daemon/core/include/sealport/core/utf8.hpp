#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace sealport::core {

// One UTF-8 sequence decoded strictly (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF).
struct Utf8Char {
    char32_t codePoint;
    std::size_t length;  // bytes
};

// Decodes the sequence starting at s[i]; nullopt when it is not valid UTF-8.
std::optional<Utf8Char> decodeUtf8At(std::string_view s, std::size_t i) noexcept;

// The byte offset of the first invalid sequence, or nullopt when all of `s` is valid.
std::optional<std::size_t> firstInvalidUtf8(std::string_view s) noexcept;

}  // namespace sealport::core
