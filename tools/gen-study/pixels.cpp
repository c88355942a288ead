#include "sealport/synthstudy/pixels.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sealport::synthstudy {
namespace {

constexpr double kDiscRadius = 0.42;  // of the short side
constexpr unsigned kRadiusScale = 4096;

// xorshift64*: fast, and good enough to make noise.
std::uint64_t nextRandom(std::uint64_t& state) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
}

struct Lesion {
    long cx;
    long cy;
    long r2;
};

// A small blob that wanders with the frame index; bright in images, the
// segmented region in SEG.
Lesion lesionFor(unsigned rows, unsigned columns, unsigned frameIndex) {
    const double shortSide = std::min(rows, columns);
    const double angle = 0.35 * frameIndex;
    const double cx = (columns - 1) / 2.0 + 0.18 * shortSide * std::cos(angle);
    const double cy = (rows - 1) / 2.0 + 0.12 * shortSide * std::sin(angle);
    const double r = std::max(1.0, shortSide * (0.07 + 0.02 * std::sin(0.5 * frameIndex)));
    return {std::lround(cx), std::lround(cy), std::lround(r * r)};
}

bool inLesion(const Lesion& l, std::size_t pixel, unsigned columns) {
    const long row = static_cast<long>(pixel / columns);
    const long col = static_cast<long>(pixel % columns);
    const long dx = col - l.cx;
    const long dy = row - l.cy;
    return dx * dx + dy * dy <= l.r2;
}

}  // namespace

SyntheticPattern::SyntheticPattern(unsigned rows, unsigned columns, unsigned maxValue)
    : rows_(rows), columns_(columns), maxValue_(static_cast<int>(maxValue)) {
    const std::size_t n = std::size_t{rows} * columns;
    base_.resize(n);
    ringPos_.resize(n);
    radius_.resize(n);
    const double shortSide = std::max(1u, std::min(rows, columns));
    const double cx = (columns - 1) / 2.0;
    const double cy = (rows - 1) / 2.0;
    const double max = maxValue_;
    for (unsigned r = 0; r < rows; ++r) {
        for (unsigned c = 0; c < columns; ++c) {
            const std::size_t p = std::size_t{r} * columns + c;
            const double dx = (c - cx) / shortSide;
            const double dy = (r - cy) / shortSide;
            const double rad = std::sqrt(dx * dx + dy * dy);
            radius_[p] = static_cast<std::uint16_t>(std::min(65535.0, rad * kRadiusScale));
            ringPos_[p] = static_cast<std::uint16_t>(static_cast<unsigned>(rad * 256 * 7) & 0xFFu);
            const double gradient =
                0.04 + 0.12 * c / std::max(1u, columns) + 0.06 * r / std::max(1u, rows);
            base_[p] = static_cast<std::int32_t>(std::lround(max * gradient));
        }
    }
    ringLut_.resize(256);
    for (unsigned i = 0; i < 256; ++i) {
        const double wave = 0.5 + 0.5 * std::cos(2 * std::numbers::pi * i / 256.0);
        ringLut_[i] = static_cast<std::int32_t>(std::lround(max * (0.28 + 0.34 * wave)));
    }
    noiseAmplitude_ = std::max(1, maxValue_ / 50);
}

namespace {

// The inner loop, shared by every sample type.
template <typename Sink>
void renderFrame(const std::vector<std::int32_t>& base, const std::vector<std::uint16_t>& ringPos,
                 const std::vector<std::uint16_t>& radius, const std::vector<std::int32_t>& ringLut,
                 int noiseAmplitude, int maxValue, const Lesion& lesion, unsigned columns,
                 unsigned frameIndex, std::uint64_t noiseSeed, Sink&& sink) {
    std::uint64_t rng = noiseSeed | 1;  // xorshift state must not be zero
    const unsigned phase = frameIndex * 5;
    const auto discLimit = static_cast<std::uint16_t>(kDiscRadius * kRadiusScale);
    const auto span = static_cast<std::uint64_t>(2 * noiseAmplitude + 1);
    const int lesionBoost = maxValue / 5;
    for (std::size_t p = 0; p < base.size(); ++p) {
        int v = base[p];
        if (radius[p] < discLimit) {
            v += ringLut[(ringPos[p] + phase) & 0xFFu];
            if (inLesion(lesion, p, columns))
                v += lesionBoost;
        }
        v += static_cast<int>(((nextRandom(rng) >> 32) * span) >> 32) - noiseAmplitude;
        sink(p, std::clamp(v, 0, maxValue));
    }
}

}  // namespace

void SyntheticPattern::fillGrey16(std::span<std::uint16_t> frame, unsigned frameIndex,
                                  std::uint64_t noiseSeed) const {
    renderFrame(base_, ringPos_, radius_, ringLut_, noiseAmplitude_, maxValue_,
                lesionFor(rows_, columns_, frameIndex), columns_, frameIndex, noiseSeed,
                [&](std::size_t p, int v) { frame[p] = static_cast<std::uint16_t>(v); });
}

void SyntheticPattern::fillGrey8(std::span<std::uint8_t> frame, unsigned frameIndex,
                                 std::uint64_t noiseSeed) const {
    renderFrame(base_, ringPos_, radius_, ringLut_, noiseAmplitude_, maxValue_,
                lesionFor(rows_, columns_, frameIndex), columns_, frameIndex, noiseSeed,
                [&](std::size_t p, int v) { frame[p] = static_cast<std::uint8_t>(v); });
}

void SyntheticPattern::fillRgb8(std::span<std::uint8_t> frame, unsigned frameIndex,
                                std::uint64_t noiseSeed) const {
    // A colour-Doppler-like box in the upper middle: red one way, blue the other.
    const unsigned boxTop = rows_ / 5;
    const unsigned boxBottom = rows_ * 9 / 20;
    const unsigned boxLeft = columns_ * 2 / 5;
    const unsigned boxRight = columns_ * 13 / 20;
    renderFrame(base_, ringPos_, radius_, ringLut_, noiseAmplitude_, maxValue_,
                lesionFor(rows_, columns_, frameIndex), columns_, frameIndex, noiseSeed,
                [&](std::size_t p, int v) {
                    const auto row = static_cast<unsigned>(p / columns_);
                    const auto col = static_cast<unsigned>(p % columns_);
                    auto grey = static_cast<std::uint8_t>(v);
                    std::uint8_t red = grey;
                    std::uint8_t green = grey;
                    std::uint8_t blue = grey;
                    if (row >= boxTop && row < boxBottom && col >= boxLeft && col < boxRight) {
                        const bool towards = ((ringPos_[p] + frameIndex * 9) & 0x80u) != 0;
                        red = towards ? grey : static_cast<std::uint8_t>(grey / 4);
                        green = static_cast<std::uint8_t>(grey / 4);
                        blue = towards ? static_cast<std::uint8_t>(grey / 4) : grey;
                    }
                    frame[3 * p] = red;
                    frame[3 * p + 1] = green;
                    frame[3 * p + 2] = blue;
                });
}

bool SyntheticPattern::inMask(std::size_t pixel, unsigned frameIndex) const {
    return inLesion(lesionFor(rows_, columns_, frameIndex), pixel, columns_);
}

void BitPacker::push(bool bit) {
    if (used_ == 8) {
        bytes_.push_back(0);
        used_ = 0;
    }
    if (bit)
        bytes_.back() = static_cast<std::uint8_t>(bytes_.back() | (1u << used_));
    ++used_;
}

std::vector<std::uint8_t> BitPacker::finish() && {
    if (bytes_.size() % 2 != 0)
        bytes_.push_back(0);
    return std::move(bytes_);
}

}  // namespace sealport::synthstudy
