#include "sealport/synthstudy/modality.hpp"

#include <array>

namespace sealport::synthstudy {
namespace {

// clang-format off
constexpr std::array<ModalityProfile, 14> kProfiles{{
    {Kind::CT, "CT", "CT", "1.2.840.10008.5.1.4.1.1.2", "", Payload::Image, 16, 12, 1, false,
     "Synthetic CT thorax", "CHEST"},
    {Kind::MR, "MR", "MR", "1.2.840.10008.5.1.4.1.1.4", "", Payload::Image, 16, 12, 1, false,
     "Synthetic MR brain T1", "HEAD"},
    {Kind::CR, "CR", "CR", "1.2.840.10008.5.1.4.1.1.1", "", Payload::Image, 16, 12, 1, false,
     "Synthetic CR chest PA", "CHEST"},
    {Kind::DX, "DX", "DX", "1.2.840.10008.5.1.4.1.1.1.1", "", Payload::Image, 16, 12, 1, false,
     "Synthetic DX hand", "HAND"},
    {Kind::MG, "MG", "MG", "1.2.840.10008.5.1.4.1.1.1.2", "", Payload::Image, 16, 12, 1, false,
     "Synthetic MG screening", "BREAST"},
    {Kind::US, "US", "US", "1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1",
     Payload::Image, 8, 8, 3, true, "Synthetic US abdomen", "ABDOMEN"},
    {Kind::NM, "NM", "NM", "1.2.840.10008.5.1.4.1.1.20", "", Payload::Image, 16, 16, 1, true,
     "Synthetic NM bone scan", "WHOLEBODY"},
    {Kind::PT, "PT", "PT", "1.2.840.10008.5.1.4.1.1.128", "", Payload::Image, 16, 16, 1, false,
     "Synthetic PET FDG", "WHOLEBODY"},
    {Kind::XA, "XA", "XA", "1.2.840.10008.5.1.4.1.1.12.1", "", Payload::Image, 8, 8, 1, true,
     "Synthetic XA coronary", "HEART"},
    {Kind::RF, "RF", "RF", "1.2.840.10008.5.1.4.1.1.12.2", "", Payload::Image, 8, 8, 1, true,
     "Synthetic RF swallow", "ESOPHAGUS"},
    // SC multi-frame: Byte (8 bits) or Word (16 bits); picked by bits in the generator.
    {Kind::SC, "SC", "OT", "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.2",
     Payload::Image, 8, 8, 1, true, "Synthetic secondary capture", "CHEST"},
    {Kind::SEG, "SEG", "SEG", "1.2.840.10008.5.1.4.1.1.66.4", "", Payload::Segmentation, 1, 1, 1,
     true, "Synthetic segmentation", ""},
    {Kind::SR, "SR", "SR", "1.2.840.10008.5.1.4.1.1.88.11", "", Payload::Report, 0, 0, 0, false,
     "Synthetic report", ""},
    {Kind::PDF, "PDF", "DOC", "1.2.840.10008.5.1.4.1.1.104.1", "", Payload::Document, 0, 0, 0,
     false, "Synthetic PDF report", ""},
}};
// clang-format on

}  // namespace

const ModalityProfile& profileFor(Kind kind) {
    for (const auto& p : kProfiles) {
        if (p.kind == kind)
            return p;
    }
    return kProfiles.front();
}

std::optional<Kind> kindFromName(std::string_view name) {
    for (const auto& p : kProfiles) {
        if (p.name == name)
            return p.kind;
    }
    return std::nullopt;
}

std::string_view kindName(Kind kind) {
    return profileFor(kind).name;
}

}  // namespace sealport::synthstudy
