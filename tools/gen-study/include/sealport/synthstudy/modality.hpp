#pragma once

#include <optional>
#include <string_view>

#include "sealport/synthstudy/spec.hpp"

namespace sealport::synthstudy {

enum class Payload {
    Image,         // image pixel module with a synthetic pattern
    Segmentation,  // binary SEG, 1 bit per pixel
    Report,        // Basic Text SR, no pixel data
    Document,      // Encapsulated PDF, no pixel data
};

// What a command-line modality turns into.
struct ModalityProfile {
    Kind kind;
    std::string_view name;      // as on the command line
    std::string_view modality;  // (0008,0060)
    std::string_view sopClassUid;
    std::string_view
        multiFrameSopClassUid;  // for FRAMES > 1; empty: the single class takes frames too
    Payload payload;
    unsigned bitsAllocated;  // 0 for no pixel data
    unsigned bitsStored;
    unsigned samplesPerPixel;
    bool framesAllowed;  // whether FRAMES > 1 is possible for this modality
    std::string_view seriesDescription;
    std::string_view bodyPart;
};

const ModalityProfile& profileFor(Kind kind);
std::optional<Kind> kindFromName(std::string_view name);

}  // namespace sealport::synthstudy
