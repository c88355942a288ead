#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sealport::synthstudy {

// A DICOM UID: digits and dots, no empty or zero-led component, at most 64 characters.
[[nodiscard]] bool isValidUid(std::string_view uid);

// Decimal digits of a big-endian 128-bit value, without leading zeros.
std::string decimalOf128(const std::array<std::uint8_t, 16>& value);

// UIDs under 2.25 (ISO/IEC 9834-8): the 128 bits are SHA-256(seed, label)
// shaped as an RFC 9562 version 8 UUID, so one seed always gives the same UIDs
// and different seeds or labels give unrelated ones.
class UidFactory {
  public:
    explicit UidFactory(std::uint64_t seed) noexcept : seed_(seed) {}
    [[nodiscard]] std::string make(std::string_view label) const;

  private:
    std::uint64_t seed_;
};

// 64 bits derived from the seed and a label, for defaults and noise streams.
[[nodiscard]] std::uint64_t derive64(std::uint64_t seed, std::string_view label);

}  // namespace sealport::synthstudy
