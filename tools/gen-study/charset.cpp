#include "sealport/synthstudy/charset.hpp"

#include <cstdint>
#include <optional>

#include "sealport/core/utf8.hpp"

namespace sealport::synthstudy {
namespace {

// Decodes one code point at `i`, advancing it; nullopt on malformed UTF-8
// (overlong forms, surrogates and values past U+10FFFF included).
std::optional<char32_t> nextCodePoint(std::string_view s, std::size_t& i) {
    const auto ch = core::decodeUtf8At(s, i);
    if (!ch) return std::nullopt;
    i += ch->length;
    return ch->codePoint;
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
