#include "sealport/core/secret.hpp"

#include <catch2/catch.hpp>
#include <type_traits>

#include "sealport/core/crypto.hpp"

using sealport::core::Bytes;
using sealport::core::SecretBytes;

// A copy of key material is one more place to wipe: the type forbids it.
static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);
// No implicit conversion out to something printable.
static_assert(!std::is_convertible_v<SecretBytes, std::string>);
static_assert(!std::is_convertible_v<SecretBytes, Bytes>);

TEST_CASE("a secret holds a copy of the bytes it was made from", "[secret]") {
    Bytes source{1, 2, 3, 4, 5};
    const SecretBytes s(source);
    source[0] = 9;  // the secret does not alias its source
    CHECK(s.size() == 5);
    CHECK_FALSE(s.empty());
    CHECK(Bytes(s.bytes().begin(), s.bytes().end()) == Bytes{1, 2, 3, 4, 5});
}

TEST_CASE("a sized secret starts zeroed", "[secret]") {
    const SecretBytes s(16);
    CHECK(s.size() == 16);
    CHECK(s.equals(Bytes(16, 0)));
}

TEST_CASE("moving a secret leaves the source empty", "[secret]") {
    SecretBytes a(Bytes{7, 7, 7});
    const std::uint8_t* storage = a.data();

    SECTION("move construction") {
        SecretBytes b(std::move(a));
        CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
        CHECK(a.size() == 0);
        CHECK(a.data() == nullptr);
        CHECK(b.data() == storage);
        CHECK(b.equals(Bytes{7, 7, 7}));
    }
    SECTION("move assignment over a secret that held other bytes") {
        SecretBytes b(Bytes{1, 2});
        b = std::move(a);
        CHECK(a.empty());  // NOLINT(bugprone-use-after-move)
        CHECK(a.data() == nullptr);
        CHECK(b.equals(Bytes{7, 7, 7}));
    }
    SECTION("self move assignment keeps the bytes") {
        SecretBytes& alias = a;
        a = std::move(alias);
        CHECK(a.equals(Bytes{7, 7, 7}));
    }
}

TEST_CASE("equals compares content, and a different length is never equal", "[secret]") {
    const SecretBytes s(Bytes{0xde, 0xad, 0xbe, 0xef});
    CHECK(s.equals(Bytes{0xde, 0xad, 0xbe, 0xef}));
    CHECK_FALSE(s.equals(Bytes{0xde, 0xad, 0xbe, 0xee}));  // last byte differs
    CHECK_FALSE(s.equals(Bytes{0xdf, 0xad, 0xbe, 0xef}));  // first byte differs
    CHECK_FALSE(s.equals(Bytes{0xde, 0xad, 0xbe}));        // a prefix
    CHECK_FALSE(s.equals(Bytes{0xde, 0xad, 0xbe, 0xef, 0x00}));
    CHECK_FALSE(s.equals(Bytes{}));
    CHECK(SecretBytes().equals(Bytes{}));
    CHECK(SecretBytes(Bytes{}).equals(Bytes{}));
    CHECK_FALSE(SecretBytes().equals(Bytes{0}));
}

TEST_CASE("a default secret is empty", "[secret]") {
    const SecretBytes s;
    CHECK(s.empty());
    CHECK(s.size() == 0);
    CHECK(s.bytes().empty());
}
