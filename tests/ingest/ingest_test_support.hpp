#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "dicom_builder.hpp"
#include "sealport/ingest/instance.hpp"

namespace sealport::ingest::test {

inline constexpr std::size_t kTestMaxBytes = 64u << 20;

using ParseResult = std::variant<InstanceFields, Rejection>;

inline ParseResult parse(const Bytes& b, std::size_t maxBytes = kTestMaxBytes) {
    return parseInstance(std::span<const std::uint8_t>(b.data(), b.size()), maxBytes);
}

inline std::string describe(const ParseResult& r) {
    if (const auto* rej = std::get_if<Rejection>(&r))
        return "rejected: " + std::string(toString(rej->reason)) + ": " + rej->detail;
    return "accepted";
}

// The fields of an object that must be accepted (the test fails, saying why, if not).
inline InstanceFields accepted(const ParseResult& r) {
    INFO(describe(r));
    REQUIRE(std::holds_alternative<InstanceFields>(r));
    return std::get<InstanceFields>(r);
}

inline Rejection rejected(const ParseResult& r) {
    REQUIRE(std::holds_alternative<Rejection>(r));
    return std::get<Rejection>(r);
}

// An independent UTF-8 check (RFC 3629), written separately from the library's.
inline bool isValidUtf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        if (c <= 0x7F) n = 1;
        else if (c >= 0xC2 && c <= 0xDF) n = 2;
        else if (c >= 0xE0 && c <= 0xEF) n = 3;
        else if (c >= 0xF0 && c <= 0xF4) n = 4;
        else return false;
        if (s.size() - i < n) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        const auto c1 = n > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
        if (c == 0xE0 && c1 < 0xA0) return false;  // overlong
        if (c == 0xED && c1 > 0x9F) return false;  // surrogates
        if (c == 0xF0 && c1 < 0x90) return false;  // overlong
        if (c == 0xF4 && c1 > 0x8F) return false;  // past U+10FFFF
        i += n;
    }
    return true;
}

inline bool hasControlCharacters(std::string_view s) {
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) return true;
    }
    return s.find("\xC2\x80") != std::string_view::npos;  // crude C1 spot check
}

inline void requireCleanText(const InstanceFields& f) {
    for (const std::string* t :
         {&f.patientId, &f.patientName, &f.birthDate, &f.sex, &f.studyDate, &f.studyTime,
          &f.studyDescription, &f.accessionNumber, &f.referringPhysician, &f.modality,
          &f.seriesDescription}) {
        CAPTURE(*t);
        CHECK(isValidUtf8(*t));
        CHECK_FALSE(hasControlCharacters(*t));
        CHECK(t->size() <= kMaxTextBytes);
    }
}

}  // namespace sealport::ingest::test
