#include "sealport/core/utf8.hpp"

namespace sealport::core {

std::optional<Utf8Char> decodeUtf8At(std::string_view s, std::size_t i) noexcept {
    if (i >= s.size()) return std::nullopt;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return Utf8Char{c, 1};
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1Fu;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0Fu;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07u;
        min = 0x10000;
    } else {
        return std::nullopt;
    }
    if (s.size() - i < len) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return std::nullopt;
        cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    return Utf8Char{cp, len};
}

std::optional<std::size_t> firstInvalidUtf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto ch = decodeUtf8At(s, i);
        if (!ch) return i;
        i += ch->length;
    }
    return std::nullopt;
}

}  // namespace sealport::core
