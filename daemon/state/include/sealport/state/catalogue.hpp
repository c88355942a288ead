#pragma once

// The catalogue: which studies, series and instances the appliance holds, and
// which encrypted blob holds each instance's exact bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sealport/core/crypto.hpp"
#include "sealport/state/database.hpp"

namespace sealport::state {

// What an instance says about itself, as the catalogue keeps it (UTF-8).
// Filled by ingest::parseInstance, stored by Catalogue::add.
struct InstanceMetadata {
    std::string patientId, patientName, birthDate, sex;
    std::string studyUid, studyDate, studyTime, studyDescription, accessionNumber, referringPhysician;
    std::string seriesUid;
    std::optional<std::int64_t> seriesNumber;
    std::string modality, seriesDescription;
    std::string sopClassUid, sopInstanceUid;
    std::optional<std::int64_t> instanceNumber;
    std::string transferSyntaxUid;
};

// One received instance, as the catalogue records it.
struct CatalogueEntry : InstanceMetadata {
    std::uint64_t size = 0;
    core::Sha256Digest sha256{};         // of the stored Part 10 bytes
    core::Sha256Digest datasetSha256{};  // of the dataset bytes: identity for re-sends
    std::string blobId;
    std::string source;      // "dicom:<calling AE>@<address>" or "import:<uid>"
    std::string receivedAt;  // UTC
};

enum class AddOutcome {
    added,      // new instance catalogued
    duplicate,  // same SOP Instance UID with the same dataset bytes: nothing changed
    conflict,   // same SOP Instance UID with different bytes: nothing changed
};

struct SeriesSummary {
    std::string seriesUid;
    std::optional<std::int64_t> number;
    std::string modality, description;
    std::int64_t instances = 0;
    std::int64_t bytes = 0;
};

struct StudySummary {
    std::string studyUid, patientId, patientName, birthDate, sex;
    std::string studyDate, studyTime, description, accessionNumber, referringPhysician, receivedAt;
    std::vector<std::string> modalities;
    std::int64_t series = 0;
    std::int64_t instances = 0;
    std::int64_t bytes = 0;
};

struct StudyDetail {
    StudySummary study;
    std::vector<SeriesSummary> series;
};

struct InstanceLocation {
    std::string sopInstanceUid, sopClassUid, seriesUid, transferSyntaxUid, blobId;
    std::optional<std::int64_t> instanceNumber;
    std::uint64_t size = 0;
    core::Sha256Digest sha256{};
    std::optional<std::uint32_t> crc32;  // of the stored bytes, once computed (see setCrc32)
};

class Catalogue {
public:
    explicit Catalogue(Database& db) : db_(db) {}

    // In one transaction (the caller's, if open). A duplicate or conflict
    // leaves the catalogue as it was; the caller then drops the new blob.
    AddOutcome add(const CatalogueEntry& entry);

    // The data set digest catalogued for an instance, if it is catalogued: lets
    // ingest answer a re-sent object without writing its blob first.
    [[nodiscard]] std::optional<core::Sha256Digest> datasetDigestOf(const std::string& sopInstanceUid);

    [[nodiscard]] std::vector<StudySummary> studies(const std::optional<std::string>& patientId = {});
    [[nodiscard]] std::optional<StudyDetail> study(const std::string& studyUid);
    [[nodiscard]] std::vector<InstanceLocation> instancesOf(const std::string& studyUid);
    [[nodiscard]] std::optional<InstanceLocation> instance(const std::string& sopInstanceUid);
    [[nodiscard]] std::int64_t studyCount();
    // Records the CRC-32 of an instance's stored bytes (ZIP downloads need it
    // before they send the bytes).
    void setCrc32(const std::string& sopInstanceUid, std::uint32_t crc);

private:
    Database& db_;
};

}  // namespace sealport::state
