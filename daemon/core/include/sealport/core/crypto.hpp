#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sealport/core/handles.hpp"
#include "sealport/core/secret.hpp"

namespace sealport::core {

using Bytes = std::vector<std::uint8_t>;
using Sha256Digest = std::array<std::uint8_t, 32>;

std::span<const std::uint8_t> asBytes(std::string_view s) noexcept;

Sha256Digest sha256(std::span<const std::uint8_t> data);

// Incremental SHA-256 for data that arrives in pieces.
class Sha256 {
public:
    Sha256();
    void update(std::span<const std::uint8_t> data);
    Sha256Digest finish();

private:
    EvpMdCtxPtr ctx_;
};

std::string toHex(std::span<const std::uint8_t> data);

// Equality in time that depends only on the lengths (CRYPTO_memcmp).
bool constantTimeEqual(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;
// Throws std::invalid_argument on odd length or a non-hex character.
Bytes fromHex(std::string_view hex);

// RFC 5869 HKDF with SHA-256.
SecretBytes hkdfSha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                       std::span<const std::uint8_t> info, std::size_t length);

// Cryptographically secure random bytes (OpenSSL's DRBG, seeded by getrandom).
void randomBytes(std::span<std::uint8_t> out);

// Ed25519 signing key made from a 32-byte seed.
class Ed25519Signer {
public:
    explicit Ed25519Signer(const SecretBytes& seed);

    [[nodiscard]] Bytes sign(std::span<const std::uint8_t> message) const;
    [[nodiscard]] const Bytes& publicKey() const noexcept { return publicKey_; }
    // SHA-256 of the raw public key, lowercase hex: how people name this key.
    [[nodiscard]] std::string fingerprint() const;

private:
    EvpPkeyPtr key_;
    Bytes publicKey_;
};

bool ed25519Verify(std::span<const std::uint8_t> publicKey, std::span<const std::uint8_t> message,
                   std::span<const std::uint8_t> signature);

std::string ed25519Fingerprint(std::span<const std::uint8_t> publicKey);

}  // namespace sealport::core
