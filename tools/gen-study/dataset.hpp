#pragma once

// Internal: fills DCMTK datasets. DCMTK types stay out of the public headers.

#include <cstdint>
#include <string>

#include "sealport/synthstudy/modality.hpp"
#include "sealport/synthstudy/pixels.hpp"
#include "sealport/synthstudy/spec.hpp"

class DcmDataset;

namespace sealport::synthstudy {

// Study-level values, text already in the bytes of the target character set.
struct StudyValues {
    std::string specificCharacterSet;
    std::string patientName;
    std::string patientId;
    std::string birthDate;
    std::string sex;
    std::string studyUid;
    std::string studyDate;
    std::string studyTime;
    std::string studyDescription;
    std::string accession;
    std::string referring;
    std::string studyId;
};

struct SeriesValues {
    const ModalityProfile* profile = nullptr;
    SeriesSpec spec;
    unsigned number = 1;
    std::string seriesUid;
    std::string frameOfReferenceUid;
    std::string dimensionOrganizationUid;
    std::string description;
    std::string sopClassUid;
    unsigned bitsStored = 0;
    const SyntheticPattern* pattern = nullptr;  // null for SR and PDF
};

struct InstanceValues {
    unsigned number = 1;
    std::string sopInstanceUid;
    std::uint64_t noiseSeed = 0;
};

// The SOP Class a series gets, given its modality, frames and bit depth.
std::string sopClassFor(const ModalityProfile& profile, const SeriesSpec& spec);

// Every module of the series' IOD, native (uncompressed) pixel data included.
void buildDataset(DcmDataset& ds, const StudyValues& study, const SeriesValues& series,
                  const InstanceValues& instance);

}  // namespace sealport::synthstudy
