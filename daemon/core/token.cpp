#include "sealport/core/token.hpp"

#include <array>

namespace sealport::core {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int valueOf(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

}  // namespace

std::string base64url(std::span<const std::uint8_t> data) {
    std::string out;
    out.reserve((data.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const unsigned v = (unsigned{data[i]} << 16) | (unsigned{data[i + 1]} << 8) | data[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    const std::size_t rest = data.size() - i;
    if (rest == 1) {
        const unsigned v = unsigned{data[i]} << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
    } else if (rest == 2) {
        const unsigned v = (unsigned{data[i]} << 16) | (unsigned{data[i + 1]} << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
    }
    return out;
}

std::string generateToken() {
    std::array<std::uint8_t, 32> bytes{};
    randomBytes(bytes);
    return base64url(bytes);
}

bool isWellFormedToken(std::string_view text) noexcept {
    if (text.size() != kTokenChars) return false;
    for (char c : text)
        if (valueOf(c) < 0) return false;
    // 43 characters carry 258 bits; the last character's two low bits are padding.
    return (valueOf(text.back()) & 3) == 0;
}

Sha256Digest tokenDigest(std::string_view token) {
    return sha256(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(token.data()), token.size()));
}

std::string randomId(std::string_view prefix) {
    std::array<std::uint8_t, 8> bytes{};
    randomBytes(bytes);
    return std::string(prefix) + toHex(bytes);
}

}  // namespace sealport::core
