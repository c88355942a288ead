#include "text.hpp"

#include "sealport/core/utf8.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcspchrs.h>
#include <dcmtk/ofstd/ofchrenc.h>

#include <cstdint>

namespace sealport::ingest::detail {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// DICOM pads string values with spaces (and UIDs with NUL); some writers pad
// everything with NUL. Leading spaces are insignificant in the VRs used here.
std::string_view trimPadding(std::string_view v) {
    while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.remove_suffix(1);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    return v;
}

bool isPrintableAscii(std::string_view v) {
    for (char c : v) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b >= 0x7F) return false;
    }
    return true;
}

}  // namespace

TextDecoder::TextDecoder(std::string_view specificCharacterSet) {
    const std::string_view term = trimPadding(specificCharacterSet);
    // Defined terms are ASCII; anything else is not a character set DCMTK should see.
    if (!isPrintableAscii(term)) return;
    codeExtensions_ = term.find('\\') != std::string_view::npos || term.rfind("ISO 2022", 0) == 0;
    auto converter = std::make_unique<DcmSpecificCharacterSet>();
    if (converter->selectCharacterSet(OFString(term.data(), term.size())).good()) {
        converter_ = std::move(converter);
        return;
    }
    // ISO_IR 203 (Latin-9, PS3.3 since 2017) postdates DCMTK 3.6.7's table.
    if (term == "ISO_IR 203") {
        auto encoding = std::make_unique<OFCharacterEncoding>();
        if (encoding->selectEncoding("ISO-8859-15", "UTF-8").good()) singleByte_ = std::move(encoding);
    }
}

TextDecoder::~TextDecoder() = default;

std::string TextDecoder::decode(std::string_view raw, TextKind kind, std::size_t maxBytes) {
    const std::string_view value = trimPadding(raw);
    if (value.empty()) return {};

    std::string utf8;
    bool converted = false;
    // Escape sequences where none were declared: the sender used code
    // extensions it did not name, and no single-byte reading of it is right.
    const bool undeclaredEscapes = !codeExtensions_ && value.find('\x1B') != std::string_view::npos;
    if (kind != TextKind::ascii && !undeclaredEscapes) {
        OFString out;
        if (converter_) {
            const char* delimiters = kind == TextKind::personName ? "\\^=" : "\\";
            converted = converter_->convertString(value.data(), value.size(), out, delimiters).good();
        } else if (singleByte_) {
            converted = singleByte_->convertString(value.data(), value.size(), out).good();
        }
        if (converted) utf8.assign(out.c_str(), out.length());
    }
    if (!converted) utf8 = decodeAsciiOnly(value);

    utf8 = sanitizeUtf8(utf8);
    const std::string_view trimmed = trimPadding(utf8);
    std::string result(trimmed);
    truncateUtf8(result, maxBytes);
    return result;
}

std::string sanitizeUtf8(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F)
                out += kReplacement;
            else
                out += static_cast<char>(c);
            ++i;
            continue;
        }
        const auto ch = core::decodeUtf8At(in, i);
        if (!ch) {
            out += kReplacement;
            ++i;
            continue;
        }
        const std::size_t len = ch->length;
        if (ch->codePoint <= 0x9F)  // C1 control characters
            out += kReplacement;
        else
            out.append(in.substr(i, len));
        i += len;
    }
    return out;
}

std::string decodeAsciiOnly(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    bool g0IsAscii = true;  // ISO 2022: whether G0 (bytes 0x21-0x7E) holds ASCII
    std::size_t i = 0;
    while (i < raw.size()) {
        const auto c = static_cast<unsigned char>(raw[i]);
        if (c == 0x1B) {
            // ESC, intermediate bytes 0x20-0x2F, one final byte 0x30-0x7E.
            std::size_t j = i + 1;
            while (j < raw.size() && raw[j] >= 0x20 && raw[j] <= 0x2F) ++j;
            if (j > i + 1 && j < raw.size() && raw[j] >= 0x30 && raw[j] <= 0x7E) {
                const char first = raw[i + 1];
                const char final = raw[j];
                if (first == '(')  // a 94-character set into G0: ASCII or JIS X 0201 Roman
                    g0IsAscii = final == 'B' || final == 'J';
                else if (first == '$' && (j == i + 2 || raw[i + 2] == '('))  // multi-byte into G0
                    g0IsAscii = false;
                // Designations into G1-G3 only change bytes >= 0x80, never ASCII.
                i = j + 1;
                continue;
            }
            out += kReplacement;
            ++i;
            continue;
        }
        if (c == '\r' || c == '\n' || c == '\f' || c == '\t') g0IsAscii = true;
        if (!g0IsAscii && c >= 0x21 && c <= 0x7E) {
            // One character of a two-byte set (JIS X 0208/0212, GB 2312, KS X 1001).
            out += kReplacement;
            const bool pair = i + 1 < raw.size() && raw[i + 1] >= 0x21 && raw[i + 1] <= 0x7E;
            i += pair ? 2 : 1;
            continue;
        }
        if (c >= 0x20 && c < 0x7F)
            out += static_cast<char>(c);
        else
            out += kReplacement;
        ++i;
    }
    return out;
}

void truncateUtf8(std::string& s, std::size_t maxBytes) {
    if (s.size() <= maxBytes) return;
    std::size_t cut = maxBytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
}

}  // namespace sealport::ingest::detail
