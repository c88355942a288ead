#pragma once

#include <cstdint>
#include <vector>

namespace sealport::synthstudy {

struct CodestreamShape {
    unsigned rows = 0;
    unsigned columns = 0;
    unsigned components = 1;
    unsigned bitsStored = 8;
    bool isSigned = false;
    bool reversible = true;                // 5/3 wavelet (lossless syntax) or 9/7 (lossy)
    bool multiComponentTransform = false;  // RCT/ICT over components 0-2 (needs 3 components)
};

// A complete JPEG 2000 Part 1 codestream (SOC SIZ COD QCD SOT SOD ... EOC):
// one tile, no wavelet decomposition, one layer, every packet empty. A
// conforming decoder returns a flat mid-grey image of the right size and
// depth; it does NOT hold the synthetic pattern (that would need a real
// EBCOT/MQ encoder, and DCMTK has none). Its length is always even.
std::vector<std::uint8_t> flatCodestream(const CodestreamShape& shape);

}  // namespace sealport::synthstudy
