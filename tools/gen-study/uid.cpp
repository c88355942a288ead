#include "sealport/synthstudy/uid.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sealport::synthstudy {
namespace {

std::array<std::uint8_t, 32> sha256Of(std::uint64_t seed, std::string_view label) {
    // Domain-separated: "sealport-gen-study" NUL seed(8 bytes, big-endian) label.
    std::string input = "sealport-gen-study";
    input.push_back('\0');
    for (int shift = 56; shift >= 0; shift -= 8) {
        input.push_back(static_cast<char>(static_cast<std::uint8_t>(seed >> shift)));
    }
    input.append(label);
    std::array<std::uint8_t, 32> digest{};
    unsigned len = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
    return digest;
}

}  // namespace

bool isValidUid(std::string_view uid) {
    if (uid.empty() || uid.size() > 64)
        return false;
    std::size_t start = 0;
    for (;;) {
        const std::size_t dot = uid.find('.', start);
        const std::string_view part =
            uid.substr(start, dot == std::string_view::npos ? uid.npos : dot - start);
        if (part.empty())
            return false;
        if (!std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
        if (part.size() > 1 && part.front() == '0')
            return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

std::string decimalOf128(const std::array<std::uint8_t, 16>& value) {
    // Repeated division by 10 of four 32-bit limbs, most significant first.
    std::array<std::uint32_t, 4> limbs{};
    for (std::size_t i = 0; i < 16; ++i) {
        limbs[i / 4] = (limbs[i / 4] << 8) | value[i];
    }
    std::string digits;
    const auto isZero = [&] {
        return std::all_of(limbs.begin(), limbs.end(), [](auto l) { return l == 0; });
    };
    do {
        std::uint64_t rem = 0;
        for (auto& limb : limbs) {
            const std::uint64_t cur = (rem << 32) | limb;
            limb = static_cast<std::uint32_t>(cur / 10);
            rem = cur % 10;
        }
        digits.push_back(static_cast<char>('0' + rem));
    } while (!isZero());
    std::reverse(digits.begin(), digits.end());
    return digits;
}

std::string UidFactory::make(std::string_view label) const {
    const auto digest = sha256Of(seed_, std::string("uid:").append(label));
    std::array<std::uint8_t, 16> uuid{};
    std::copy_n(digest.begin(), 16, uuid.begin());
    uuid[6] = static_cast<std::uint8_t>((uuid[6] & 0x0F) | 0x80);  // version 8 (custom)
    uuid[8] = static_cast<std::uint8_t>((uuid[8] & 0x3F) | 0x80);  // RFC 9562 variant
    return "2.25." + decimalOf128(uuid);
}

std::uint64_t derive64(std::uint64_t seed, std::string_view label) {
    const auto digest = sha256Of(seed, std::string("u64:").append(label));
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i)
        v = (v << 8) | digest[i];
    return v;
}

}  // namespace sealport::synthstudy
