#include "sealport/synthstudy/charset.hpp"

#include <cstdint>
#include <optional>

namespace sealport::synthstudy {
namespace {

// Decodes one code point at `i`, advancing it; nullopt on malformed UTF-8
// (overlong forms, surrogates and values past U+10FFFF included).
std::optional<char32_t> nextCodePoint(std::string_view s, std::size_t& i) {
    const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
    const std::uint8_t b0 = byte(i);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2;
        cp = b0 & 0x1Fu;
        min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3;
        cp = b0 & 0x0Fu;
        min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4;
        cp = b0 & 0x07u;
        min = 0x10000;
    } else {
        return std::nullopt;
    }
    if (i + len > s.size())
        return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
        const std::uint8_t b = byte(i + k);
        if ((b & 0xC0) != 0x80)
            return std::nullopt;
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return std::nullopt;
    i += len;
    return cp;
}

}  // namespace

std::string_view specificCharacterSet(Charset charset) {
    switch (charset) {
        case Charset::Latin1:
            return "ISO_IR 100";
        case Charset::Utf8:
            return "ISO_IR 192";
        case Charset::Ascii:
            return "";
    }
    return "";
}

bool isValidUtf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        if (!nextCodePoint(text, i))
            return false;
    }
    return true;
}

bool isAscii(std::string_view text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80)
            return false;
    }
    return true;
}

std::size_t codePointCount(std::string_view utf8) {
    std::size_t n = 0;
    std::size_t i = 0;
    while (i < utf8.size()) {
        if (!nextCodePoint(utf8, i))
            return n;
        ++n;
    }
    return n;
}

std::string encodeText(std::string_view utf8, Charset charset, std::string_view what) {
    if (!isValidUtf8(utf8))
        throw UsageError(std::string(what) + " is not valid UTF-8");
    switch (charset) {
        case Charset::Utf8:
            return std::string(utf8);
        case Charset::Ascii:
            if (!isAscii(utf8)) {
                throw UsageError(std::string(what) +
                                 " has non-ASCII characters; --charset none allows ASCII only "
                                 "(use ISO_IR_100 or ISO_IR_192)");
            }
            return std::string(utf8);
        case Charset::Latin1: {
            std::string out;
            out.reserve(utf8.size());
            std::size_t i = 0;
            while (i < utf8.size()) {
                const char32_t cp = *nextCodePoint(utf8, i);
                if (cp > 0xFF) {
                    throw UsageError(
                        std::string(what) +
                        " has a character outside ISO 8859-1; use --charset ISO_IR_192");
                }
                out.push_back(static_cast<char>(static_cast<unsigned char>(cp)));
            }
            return out;
        }
    }
    return std::string(utf8);
}

}  // namespace sealport::synthstudy
