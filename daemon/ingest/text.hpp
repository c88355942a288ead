#pragma once

// Catalogue text from DICOM string values: decoded to UTF-8 honouring
// Specific Character Set (0008,0005) through DCMTK, and made safe whatever
// the bytes were. A value that does not convert is never a reason to reject
// an object (it is stored byte-exact regardless); it only loses characters,
// each shown as U+FFFD.

#include <memory>
#include <string>
#include <string_view>

class DcmSpecificCharacterSet;  // DCMTK, kept out of this header
class OFCharacterEncoding;

namespace sealport::ingest::detail {

enum class TextKind {
    personName,  // PN: components and groups reset code extensions (ISO 2022)
    text,        // LO, SH: values reset code extensions
    ascii,       // DA, TM, CS, IS: the default repertoire only
};

class TextDecoder {
public:
    // `specificCharacterSet`: the raw (0008,0005) value; empty for the default
    // repertoire (ASCII).
    explicit TextDecoder(std::string_view specificCharacterSet);
    ~TextDecoder();
    TextDecoder(const TextDecoder&) = delete;
    TextDecoder& operator=(const TextDecoder&) = delete;

    // Valid UTF-8 without control characters, trimmed of DICOM padding, at
    // most `maxBytes` (cut at a character boundary).
    [[nodiscard]] std::string decode(std::string_view raw, TextKind kind, std::size_t maxBytes);

    // Whether DCMTK accepted the character set (for tests and diagnostics).
    [[nodiscard]] bool converterReady() const noexcept { return converter_ || singleByte_; }

private:
    std::unique_ptr<DcmSpecificCharacterSet> converter_;
    // A defined term DCMTK 3.6.7 does not know, converted by its iconv wrapper.
    std::unique_ptr<OFCharacterEncoding> singleByte_;
    // (0008,0005) declares ISO 2022 code extensions: escape sequences are expected.
    bool codeExtensions_ = false;
};

// Replaces every byte that does not start a valid UTF-8 sequence (overlong
// forms, surrogates and code points past U+10FFFF included), every C0 and C1
// control character and DEL with U+FFFD.
std::string sanitizeUtf8(std::string_view in);

// Without a converter: printable ASCII as is, ISO 2022 escape sequences
// dropped, every other byte (and every character of a two-byte G0 set) U+FFFD.
std::string decodeAsciiOnly(std::string_view raw);

// Cuts `s` to at most `maxBytes` without splitting a UTF-8 sequence.
void truncateUtf8(std::string& s, std::size_t maxBytes);

}  // namespace sealport::ingest::detail
