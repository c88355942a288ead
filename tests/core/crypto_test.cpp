#include "sealport/core/crypto.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "sealport/core/keys.hpp"

using sealport::core::Bytes;
using sealport::core::fromHex;
using sealport::core::SecretBytes;
using sealport::core::toHex;

namespace {

Bytes range(std::uint8_t first, std::uint8_t lastInclusive) {
    Bytes out;
    for (unsigned v = first; v <= lastInclusive; ++v)
        out.push_back(static_cast<std::uint8_t>(v));
    return out;
}

SecretBytes secretFromHex(std::string_view hex) {
    const Bytes raw = fromHex(hex);
    return SecretBytes(raw);
}

std::string hexOf(const SecretBytes& s) {
    return toHex(s.bytes());
}

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-2 vectors", "[crypto][sha256]") {
    const auto [message, digest] = GENERATE(table<std::string, std::string>({
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    }));
    CAPTURE(message);
    CHECK(toHex(sealport::core::sha256(sealport::core::asBytes(message))) == digest);
}

TEST_CASE("incremental SHA-256 over pieces equals the one-shot digest", "[crypto][sha256]") {
    const std::string message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sealport::core::Sha256 h;
    h.update(sealport::core::asBytes(std::string_view(message).substr(0, 5)));
    h.update(sealport::core::asBytes(std::string_view{}));
    h.update(sealport::core::asBytes(std::string_view(message).substr(5)));
    CHECK(toHex(h.finish()) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("toHex writes lowercase pairs and fromHex reads either case", "[crypto][hex]") {
    const Bytes bytes{0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    CHECK(toHex(bytes) == "00017f80abff");
    CHECK(toHex(Bytes{}).empty());
    CHECK(fromHex("00017f80abff") == bytes);
    CHECK(fromHex("00017F80ABFF") == bytes);
    CHECK(fromHex("").empty());
}

TEST_CASE("fromHex refuses odd lengths and non-hex characters", "[crypto][hex]") {
    const std::string bad = GENERATE(as<std::string>{}, "0", "abc", "0g", "zz", "0x00", " 0", "00 ",
                                     "-1", std::string("0\0", 2), "\xc3\xa9");
    CAPTURE(bad);
    CHECK_THROWS_AS(fromHex(bad), std::invalid_argument);
}

TEST_CASE("HKDF-SHA256 reproduces RFC 5869 test case 1", "[crypto][hkdf]") {
    const Bytes ikm(22, 0x0b);
    const Bytes salt = range(0x00, 0x0c);
    const Bytes info = range(0xf0, 0xf9);
    const SecretBytes okm = sealport::core::hkdfSha256(ikm, salt, info, 42);
    CHECK(hexOf(okm) ==
          "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST_CASE("HKDF-SHA256 reproduces RFC 5869 test case 2 (long inputs)", "[crypto][hkdf]") {
    const Bytes ikm = range(0x00, 0x4f);
    const Bytes salt = range(0x60, 0xaf);
    const Bytes info = range(0xb0, 0xff);
    const SecretBytes okm = sealport::core::hkdfSha256(ikm, salt, info, 82);
    CHECK(hexOf(okm) ==
          "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
          "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST_CASE("HKDF-SHA256 reproduces RFC 5869 test case 3 (empty salt and info)", "[crypto][hkdf]") {
    const Bytes ikm(22, 0x0b);
    const Bytes empty;
    const SecretBytes okm = sealport::core::hkdfSha256(ikm, empty, empty, 42);
    CHECK(hexOf(okm) ==
          "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST_CASE("the key ring holds three distinct 32-byte keys derived from the master",
          "[crypto][keys]") {
    const SecretBytes master =
        secretFromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    const auto ring = sealport::core::deriveKeyRing(master);
    CHECK(ring.database.size() == 32);
    CHECK(ring.blobs.size() == 32);
    CHECK(ring.signing.size() == 32);
    const std::set<std::string> distinct{hexOf(ring.database), hexOf(ring.blobs),
                                         hexOf(ring.signing), hexOf(master)};
    CHECK(distinct.size() == 4);

    SECTION("the same master gives the same keys") {
        const SecretBytes sameMaster =
            secretFromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        const auto again = sealport::core::deriveKeyRing(sameMaster);
        CHECK(again.database.equals(ring.database.bytes()));
        CHECK(again.blobs.equals(ring.blobs.bytes()));
        CHECK(again.signing.equals(ring.signing.bytes()));
    }
    SECTION("another master gives other keys") {
        const SecretBytes other =
            secretFromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1e");
        const auto ring2 = sealport::core::deriveKeyRing(other);
        CHECK_FALSE(ring2.database.equals(ring.database.bytes()));
        CHECK_FALSE(ring2.blobs.equals(ring.blobs.bytes()));
        CHECK_FALSE(ring2.signing.equals(ring.signing.bytes()));
    }
    SECTION("each key is HKDF of the master with its own label") {
        const auto expect = [&](std::string_view label) {
            return hexOf(sealport::core::hkdfSha256(
                master.bytes(), sealport::core::asBytes("sealport master key v1"),
                sealport::core::asBytes(label), 32));
        };
        CHECK(hexOf(ring.database) == expect("sealport/database/v1"));
        CHECK(hexOf(ring.blobs) == expect("sealport/blobs/v1"));
        CHECK(hexOf(ring.signing) == expect("sealport/signing/ed25519/v1"));
    }
}

TEST_CASE("a master key that is not 32 bytes cannot make a key ring", "[crypto][keys]") {
    const std::size_t size = GENERATE(0U, 16U, 31U, 33U, 64U);
    const SecretBytes master(size);
    CHECK_THROWS_AS(sealport::core::deriveKeyRing(master), sealport::core::KeyError);
}

TEST_CASE("Ed25519 reproduces RFC 8032 test 1", "[crypto][ed25519]") {
    const SecretBytes seed =
        secretFromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    const sealport::core::Ed25519Signer signer(seed);
    CHECK(toHex(signer.publicKey()) ==
          "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    const Bytes sig = signer.sign(Bytes{});
    CHECK(toHex(sig) ==
          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e397"
          "01cf9b46bd25bf5f0595bbe24655141438e7a100b");
    CHECK(sealport::core::ed25519Verify(signer.publicKey(), Bytes{}, sig));
    // The fingerprint is SHA-256 of the raw public key.
    CHECK(signer.fingerprint() == toHex(sealport::core::sha256(signer.publicKey())));
    CHECK(sealport::core::ed25519Fingerprint(signer.publicKey()) == signer.fingerprint());
}

TEST_CASE("Ed25519 reproduces RFC 8032 test 2 (one-byte message)", "[crypto][ed25519]") {
    const SecretBytes seed =
        secretFromHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
    const sealport::core::Ed25519Signer signer(seed);
    CHECK(toHex(signer.publicKey()) ==
          "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
    CHECK(toHex(signer.sign(Bytes{0x72})) ==
          "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f361"
          "3d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

TEST_CASE("an Ed25519 signature verifies only for its message, key and bytes",
          "[crypto][ed25519]") {
    const SecretBytes seed = secretFromHex(std::string(64, '7'));
    const sealport::core::Ed25519Signer signer(seed);
    const std::string message = "export of study 1.2.3 to medium 42";
    const Bytes sig = signer.sign(sealport::core::asBytes(message));
    REQUIRE(sig.size() == 64);
    CHECK(sealport::core::ed25519Verify(signer.publicKey(), sealport::core::asBytes(message), sig));

    SECTION("a tampered message fails") {
        std::string tampered = message;
        tampered.back() = '3';
        CHECK_FALSE(sealport::core::ed25519Verify(signer.publicKey(),
                                                  sealport::core::asBytes(tampered), sig));
    }
    SECTION("a signature with any one bit flipped fails") {
        const std::size_t index = GENERATE(0U, 1U, 31U, 32U, 33U, 63U);
        Bytes bad = sig;
        bad[index] ^= 0x01;
        CAPTURE(index);
        CHECK_FALSE(sealport::core::ed25519Verify(signer.publicKey(),
                                                  sealport::core::asBytes(message), bad));
    }
    SECTION("another key's public key fails") {
        const sealport::core::Ed25519Signer other(secretFromHex(std::string(64, '8')));
        CHECK(other.publicKey() != signer.publicKey());
        CHECK_FALSE(sealport::core::ed25519Verify(other.publicKey(),
                                                  sealport::core::asBytes(message), sig));
    }
    SECTION("a truncated or extended signature fails") {
        Bytes shorter(sig.begin(), sig.end() - 1);
        Bytes longer = sig;
        longer.push_back(0);
        CHECK_FALSE(sealport::core::ed25519Verify(signer.publicKey(),
                                                  sealport::core::asBytes(message), shorter));
        CHECK_FALSE(sealport::core::ed25519Verify(signer.publicKey(),
                                                  sealport::core::asBytes(message), longer));
        CHECK_FALSE(sealport::core::ed25519Verify(signer.publicKey(),
                                                  sealport::core::asBytes(message), Bytes{}));
    }
    SECTION("a public key of the wrong size fails") {
        const std::size_t size = GENERATE(0U, 31U, 33U, 64U);
        Bytes key = signer.publicKey();
        key.resize(size, 0x00);
        CAPTURE(size);
        CHECK_FALSE(sealport::core::ed25519Verify(key, sealport::core::asBytes(message), sig));
    }
}

TEST_CASE("an Ed25519 seed that is not 32 bytes is refused", "[crypto][ed25519]") {
    const std::size_t size = GENERATE(0U, 1U, 31U, 33U, 64U);
    CAPTURE(size);
    const SecretBytes seed(size);
    CHECK_THROWS_AS(sealport::core::Ed25519Signer(seed), std::invalid_argument);
}

TEST_CASE("Ed25519 signing is deterministic for one seed", "[crypto][ed25519]") {
    const sealport::core::Ed25519Signer a(secretFromHex(std::string(64, 'a')));
    const sealport::core::Ed25519Signer b(secretFromHex(std::string(64, 'a')));
    CHECK(a.publicKey() == b.publicKey());
    CHECK(a.sign(sealport::core::asBytes("m")) == b.sign(sealport::core::asBytes("m")));
    CHECK(a.sign(sealport::core::asBytes("m")) != a.sign(sealport::core::asBytes("n")));
}

TEST_CASE("randomBytes fills the buffer with fresh bytes each call", "[crypto][random]") {
    std::array<std::uint8_t, 32> a{};
    std::array<std::uint8_t, 32> b{};
    sealport::core::randomBytes(a);
    sealport::core::randomBytes(b);
    CHECK(a != std::array<std::uint8_t, 32>{});
    CHECK(a != b);
    sealport::core::randomBytes(std::span<std::uint8_t>{});  // an empty request is not an error
}
