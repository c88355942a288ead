#pragma once

// Bearer secrets: link tokens (the credential in a link's URL) and RIS API
// keys. 256 random bits, written as unpadded base64url (43 characters). Only
// their SHA-256 is ever stored; a presented secret is looked up by its digest,
// so the database never holds what would let someone use a link.

#include <optional>
#include <string>
#include <string_view>

#include "sealport/core/crypto.hpp"

namespace sealport::core {

inline constexpr std::size_t kTokenChars = 43;  // 32 bytes, base64url, no padding

// A fresh secret from the CSPRNG.
std::string generateToken();

// True for exactly 43 characters of [A-Za-z0-9_-] whose last character
// encodes no stray bits (so that each 32-byte secret has one spelling).
bool isWellFormedToken(std::string_view text) noexcept;

// The digest under which a secret is stored and looked up.
Sha256Digest tokenDigest(std::string_view token);

// Unpadded base64url (RFC 4648 section 5).
std::string base64url(std::span<const std::uint8_t> data);

// A public identifier: `prefix` followed by 16 lowercase hex characters (64
// random bits). Not a secret; names a link, an API key or a deferred request.
std::string randomId(std::string_view prefix);

}  // namespace sealport::core
