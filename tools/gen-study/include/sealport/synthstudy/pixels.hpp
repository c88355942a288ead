#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sealport::synthstudy {

// A deterministic phantom: a disc of concentric rings over a gradient, with
// seeded noise. The rings move with the frame index so every slice differs;
// nothing is ever blank. The geometry is computed once per series.
class SyntheticPattern {
  public:
    SyntheticPattern(unsigned rows, unsigned columns, unsigned maxValue);

    void fillGrey16(std::span<std::uint16_t> frame, unsigned frameIndex,
                    std::uint64_t noiseSeed) const;
    void fillGrey8(std::span<std::uint8_t> frame, unsigned frameIndex,
                   std::uint64_t noiseSeed) const;
    // Interleaved RGB (planar configuration 0): grey anatomy and a colour box.
    void fillRgb8(std::span<std::uint8_t> frame, unsigned frameIndex,
                  std::uint64_t noiseSeed) const;
    // Whether a pixel lies inside the frame's "lesion" (for SEG masks).
    [[nodiscard]] bool inMask(std::size_t pixel, unsigned frameIndex) const;

    [[nodiscard]] std::size_t pixelCount() const noexcept { return base_.size(); }

  private:
    unsigned rows_;
    unsigned columns_;
    int maxValue_;
    std::vector<std::int32_t> base_;      // gradient, in output units
    std::vector<std::uint16_t> ringPos_;  // ring phase per pixel (LUT index before the frame shift)
    std::vector<std::uint16_t> radius_;   // distance from the centre, 1/4096 of the short side
    std::vector<std::int32_t> ringLut_;   // 256 entries, amplitude in output units
    int noiseAmplitude_;
};

// Packs a binary mask, first pixel in the least significant bit (PS3.5 8.1.1),
// frames back to back without padding.
class BitPacker {
  public:
    void push(bool bit);
    [[nodiscard]] std::vector<std::uint8_t> finish() &&;  // padded to an even length

  private:
    std::vector<std::uint8_t> bytes_;
    unsigned used_ = 8;
};

}  // namespace sealport::synthstudy
