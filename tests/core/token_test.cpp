// Link tokens and API keys: 256 random bits in one canonical spelling.
#include <catch2/catch.hpp>
#include <set>

#include "sealport/core/token.hpp"

using namespace sealport;

TEST_CASE("generated tokens are 43 base64url characters, well formed and distinct") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto t = core::generateToken();
        CHECK(t.size() == core::kTokenChars);
        CHECK(core::isWellFormedToken(t));
        seen.insert(t);
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("base64url matches RFC 4648 test vectors, without padding") {
    const auto enc = [](std::string_view s) {
        return core::base64url(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
    };
    CHECK(enc("") == "");
    CHECK(enc("f") == "Zg");
    CHECK(enc("fo") == "Zm8");
    CHECK(enc("foo") == "Zm9v");
    CHECK(enc("foob") == "Zm9vYg");
    CHECK(enc("fooba") == "Zm9vYmE");
    CHECK(enc("foobar") == "Zm9vYmFy");
    const std::uint8_t high[] = {0xfb, 0xff, 0xbf};
    CHECK(core::base64url(high) == "-_-_");
}

TEST_CASE("malformed tokens of every length and alphabet are refused") {
    const std::string good = core::generateToken();
    for (std::size_t n = 0; n < 100; ++n) {
        if (n == core::kTokenChars) continue;
        CAPTURE(n);
        CHECK_FALSE(core::isWellFormedToken(std::string(n, 'A')));
    }
    for (int c = 0; c < 256; ++c) {
        const char ch = static_cast<char>(c);
        const bool alphabet = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                              ch == '-' || ch == '_';
        std::string t = good;
        t[10] = ch;
        CAPTURE(c);
        CHECK(core::isWellFormedToken(t) == alphabet);
    }
    // The last character carries two padding bits that must be zero: one spelling per secret.
    std::string t = good;
    int accepted = 0;
    for (char c : std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")) {
        t.back() = c;
        if (core::isWellFormedToken(t)) ++accepted;
    }
    CHECK(accepted == 16);
    CHECK_FALSE(core::isWellFormedToken(good + "="));
    CHECK_FALSE(core::isWellFormedToken(std::string(good).replace(0, 1, "+")));
    CHECK_FALSE(core::isWellFormedToken(std::string(good).replace(0, 1, "/")));
}

TEST_CASE("the stored digest is SHA-256 of the token text; ids are prefixed hex") {
    const std::string t = "abc";
    CHECK(core::toHex(core::tokenDigest(t)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const auto id = core::randomId("lnk_");
    CHECK(id.size() == 20);
    CHECK(id.rfind("lnk_", 0) == 0);
    CHECK(id.find_first_not_of("0123456789abcdef", 4) == std::string::npos);
    CHECK(core::randomId("lnk_") != id);
}

TEST_CASE("constantTimeEqual compares whole spans") {
    const std::uint8_t a[] = {1, 2, 3}, b[] = {1, 2, 3}, c[] = {1, 2, 4}, d[] = {1, 2};
    CHECK(core::constantTimeEqual(a, b));
    CHECK_FALSE(core::constantTimeEqual(a, c));
    CHECK_FALSE(core::constantTimeEqual(a, d));
    CHECK(core::constantTimeEqual(std::span<const std::uint8_t>(), std::span<const std::uint8_t>()));
}
