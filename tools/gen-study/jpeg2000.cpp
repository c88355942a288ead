#include "sealport/synthstudy/jpeg2000.hpp"

#include <stdexcept>
#include <string_view>

namespace sealport::synthstudy {
namespace {

class ByteWriter {
  public:
    void u8(unsigned v) { out_.push_back(static_cast<std::uint8_t>(v)); }
    void u16(unsigned v) {
        u8((v >> 8) & 0xFFu);
        u8(v & 0xFFu);
    }
    void u32(unsigned v) {
        u16((v >> 16) & 0xFFFFu);
        u16(v & 0xFFFFu);
    }
    [[nodiscard]] std::size_t size() const noexcept { return out_.size(); }
    std::vector<std::uint8_t> take() && { return std::move(out_); }

  private:
    std::vector<std::uint8_t> out_;
};

constexpr unsigned kGuardBits = 2;

}  // namespace

std::vector<std::uint8_t> flatCodestream(const CodestreamShape& s) {
    if (s.rows == 0 || s.columns == 0 || s.components == 0 || s.components > 4 ||
        s.bitsStored == 0 || s.bitsStored > 16 || (s.multiComponentTransform && s.components < 3)) {
        throw std::invalid_argument("flatCodestream: unsupported shape");
    }
    ByteWriter w;
    w.u16(0xFF4F);  // SOC

    w.u16(0xFF51);  // SIZ: one tile covering the image, no sub-sampling
    w.u16(38 + 3 * s.components);
    w.u16(0);  // Rsiz: Part 1, no profile restriction
    w.u32(s.columns);
    w.u32(s.rows);
    w.u32(0);
    w.u32(0);
    w.u32(s.columns);
    w.u32(s.rows);
    w.u32(0);
    w.u32(0);
    w.u16(s.components);
    for (unsigned c = 0; c < s.components; ++c) {
        w.u8((s.bitsStored - 1) | (s.isSigned ? 0x80u : 0u));
        w.u8(1);
        w.u8(1);
    }

    w.u16(0xFF52);  // COD
    w.u16(12);
    w.u8(0);   // Scod: default precincts, no SOP/EPH markers
    w.u8(0);   // LRCP
    w.u16(1);  // one quality layer
    w.u8(s.multiComponentTransform ? 1 : 0);
    w.u8(0);                     // no wavelet decomposition levels
    w.u8(4);                     // code-blocks 64 wide
    w.u8(4);                     // and 64 high
    w.u8(0);                     // no code-block style options
    w.u8(s.reversible ? 1 : 0);  // 5/3 reversible or 9/7 irreversible

    w.u16(0xFF5C);  // QCD: one sub-band (LL)
    if (s.reversible) {
        w.u16(4);
        w.u8(kGuardBits << 5);  // no quantization
        w.u8(s.bitsStored << 3);
    } else {
        w.u16(5);
        w.u8((kGuardBits << 5) | 2);  // scalar expounded
        w.u16(s.bitsStored << 11);    // step size 1: exponent = depth, mantissa 0
    }

    // The rest has a fixed size: SOT(12) SOD(2) one empty packet per component, EOC(2).
    const std::size_t tail = 12 + 2 + s.components + 2;
    constexpr std::string_view kComment =
        "sealport-gen-study synthetic flat frame, not the image pattern";
    std::size_t commentLen = kComment.size();
    if ((w.size() + 6 + commentLen + tail) % 2 != 0)
        ++commentLen;  // keep the codestream even
    w.u16(0xFF64);     // COM, Latin-1 text
    w.u16(static_cast<unsigned>(4 + commentLen));
    w.u16(1);
    for (std::size_t i = 0; i < commentLen; ++i)
        w.u8(i < kComment.size() ? static_cast<unsigned char>(kComment[i]) : ' ');

    w.u16(0xFF90);  // SOT
    w.u16(10);
    w.u16(0);                      // tile 0
    w.u32(12 + 2 + s.components);  // Psot: this tile-part, SOT marker to end of data
    w.u8(0);                       // tile-part 0
    w.u8(1);                       // of 1
    w.u16(0xFF93);                 // SOD
    // LRCP with one layer, one resolution and one precinct: one packet per
    // component. A header starting with bit 0 says the packet is empty.
    for (unsigned c = 0; c < s.components; ++c)
        w.u8(0x00);
    w.u16(0xFFD9);  // EOC
    return std::move(w).take();
}

}  // namespace sealport::synthstudy
