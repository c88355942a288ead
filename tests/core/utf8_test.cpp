#include <catch2/catch.hpp>

#include "sealport/core/utf8.hpp"

using sealport::core::decodeUtf8At;
using sealport::core::firstInvalidUtf8;

TEST_CASE("strict UTF-8: valid text decodes, every kind of invalid sequence is found where it starts") {
    using Row = std::tuple<std::string, std::optional<std::size_t>>;
    auto [text, firstBad] = GENERATE(table<std::string, std::optional<std::size_t>>({
        Row{"", std::nullopt},
        Row{"Lef\xC3\xA8vre^Am\xC3\xA9lie", std::nullopt},  // Lefèvre^Amélie
        Row{"\xE2\x82\xAC \xF0\x9F\x98\x80", std::nullopt},  // euro sign, an emoji
        Row{"ab\xC3", 2},                                    // truncated sequence
        Row{"a\xE8vre", 1},                                  // Latin-1 byte
        Row{"\xC0\xAF", 0},                                  // overlong '/'
        Row{"x\xE0\x80\xAF", 1},                             // overlong, 3 bytes
        Row{"\xED\xA0\x80", 0},                              // a surrogate
        Row{"ok\xF4\x90\x80\x80", 2},                        // past U+10FFFF
        Row{"\xFF", 0},
        Row{"a\x80", 1},                                     // a lone continuation byte
    }));
    CAPTURE(text);
    CHECK(firstInvalidUtf8(text) == firstBad);
}

TEST_CASE("decodeUtf8At gives the code point and its length") {
    const std::string s = "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
    CHECK(decodeUtf8At(s, 0)->codePoint == U'A');
    CHECK(decodeUtf8At(s, 1)->codePoint == U'\u00E9');
    CHECK(decodeUtf8At(s, 1)->length == 2);
    CHECK(decodeUtf8At(s, 3)->codePoint == U'\u20AC');
    CHECK(decodeUtf8At(s, 6)->codePoint == U'\U0001F600');
    CHECK(decodeUtf8At(s, 6)->length == 4);
    CHECK_FALSE(decodeUtf8At(s, 2).has_value());  // inside a sequence
    CHECK_FALSE(decodeUtf8At(s, s.size()).has_value());
}
