#pragma once

// A DICOM file-set (PS3.10, PS3.11 STD-GEN, PS3.12 Annex R layout as IHE PDI
// asks for it) made of catalogued instances: where each file goes, the
// DICOMDIR that indexes them, and the README.TXT beside it. Shared by link
// downloads (one ZIP: DICOMDIR, README.TXT, DICOM/...) and USB media export.
//
// The layout is fixed:
//   DICOMDIR                                  built by buildDicomDir
//   README.TXT                                readmeText
//   DICOM/Pxxxxxxx/Sxxxxxxx/Sxxxxxxx/Ixxxxxxx  patient/study/series/instance,
//                                             7 decimal digits per counter
// File IDs are '/'-separated here (ZIP entry names, FAT paths); inside the
// DICOMDIR they are '\'-separated, as PS3.10 8.5 says.

#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sealport/core/crypto.hpp"
#include "sealport/state/blob_store.hpp"
#include "sealport/state/catalogue.hpp"

namespace sealport::media {

// A file-set cannot be built from what the store holds: a blob that is
// missing, does not authenticate, does not parse as the instance the
// catalogue names, or has a header over kMaxHeaderBytes. The message names
// the file ID and the blob, never patient data.
class FileSetError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct PlacedInstance {
    std::string path;                  // "DICOM/P0000001/S0000001/S0000001/I0000001"
    state::InstanceLocation instance;  // as Catalogue::instancesOf gives it
};

// Orders and names the instances of the given studies for one file-set.
// Patients in order of first appearance in `studyUids`, their studies in the
// given order; series by series number ascending, unnumbered series after the
// numbered ones, ties by Series Instance UID; instances the same way by
// instance number, then SOP Instance UID. Patients are told apart by Patient
// ID; a study without one is a patient of its own (two people without an ID
// are never merged). A study UID listed twice is planned once.
// Throws std::invalid_argument for a study UID the catalogue does not hold.
std::vector<PlacedInstance> planFileSet(state::Catalogue& catalogue,
                                        std::span<const std::string> studyUids);

// Whether `path` ('/'-separated) is a valid DICOM File ID: 1 to 8 components,
// each 1 to 8 characters of A-Z, 0-9 and '_' (PS3.10 8.2, PS3.12 Annex R;
// the rules DCMTK's DicomDirInterface::isFilenameValid applies).
bool isValidFileId(std::string_view path) noexcept;

// The directory record type of a SOP class as DCMTK 3.6.7's dcmmkdir maps it
// ("IMAGE", "SR DOCUMENT", "KEY OBJECT DOC", "PRESENTATION", "ENCAP DOC",
// "WAVEFORM", "RT DOSE", ...). Unknown SOP classes are "IMAGE".
std::string_view directoryRecordType(std::string_view sopClassUid) noexcept;

// Bytes of one instance decoded to find its directory record keys: everything
// before the first top-level element past (3010,xxxx), i.e. before functional
// groups, overlays and Pixel Data, which are never decrypted. Values over
// 64 KiB (e.g. an encapsulated PDF) are decrypted and skipped, not kept, and
// do not count.
inline constexpr std::size_t kMaxHeaderBytes = 8U << 20;

// The DICOMDIR of a file-set, as Part 10 bytes (Explicit VR Little Endian),
// with File-set ID `fileSetId` (CS: at most 16 of A-Z, 0-9, '_', space; may
// be empty). One PATIENT, STUDY and SERIES record per patient, study and
// series, in order of first appearance in `files`, and one record per file of
// the type directoryRecordType names, with the keys PS3.3 F.5 requires taken
// from the instance's own header (read from its encrypted blob), Referenced
// File ID, Referenced SOP Class/Instance UID in File and Referenced Transfer
// Syntax UID in File (the file's real syntax). Text is copied as the instance
// encodes it, with its Specific Character Set on every record that holds
// text, so names in any character set stay intact.
//
// Required values the instance lacks are filled as DCMTK's dcmmkdir
// --invent does: Patient ID "DCMTKPAT" and Study ID "DCMTKSTUDY" followed by
// a 6-digit counter from 000000, Series Number from 0 and Instance Number
// from 1 counting up across the file-set. Dates and times fall back to the
// Series, Acquisition, then Content values (Study), or Content, Instance
// Creation, Series, then Study values (other records), and finally to
// 19000101 / 000000 rather than the current date, so that the DICOMDIR is a
// function of its inputs only. A missing Modality becomes "OT", an SR's
// missing Completion/Verification Flag "PARTIAL"/"UNVERIFIED". The files
// themselves are never changed. The same inputs give the same bytes.
//
// DcmDicomDir can only write through a file: a unique 0700 directory is made
// inside `scratchDir` (an existing private directory, on tmpfs in the daemon:
// the DICOMDIR holds patient names) and removed with its content before
// returning or throwing.
//
// Throws std::invalid_argument for an invalid file-set ID, an invalid or
// repeated file ID or a repeated SOP Instance UID; FileSetError for a blob or
// header problem or a failure to write.
core::Bytes buildDicomDir(const state::BlobStore& blobs, std::span<const PlacedInstance> files,
                          const std::string& fileSetId, const std::filesystem::path& scratchDir);

// What README.TXT says about the file-set. Text here is ASCII for the
// README; anything else is replaced with '?'.
struct ReadmeFacts {
    std::string producer;    // the appliance: its name and public URL
    std::string version;     // sealport version
    std::string createdUtc;  // e.g. "2026-11-28 17:47:58 UTC"
    std::string origin;      // "link download" or "sealed media"
    std::size_t studies = 0, series = 0, images = 0;
    std::vector<std::string> modalities;
    bool signedManifest = false;  // SEALPORT/MANIFEST.JSN + .SIG + SIGNER.PEM are present
};

inline constexpr std::string_view kOriginLinkDownload = "link download";
inline constexpr std::string_view kOriginSealedMedia = "sealed media";

// README.TXT: ASCII, CRLF line ends, at most 78 characters a line. What this
// is and how to open it, who made it and when, how many studies, series and
// images, and how to check it. It holds no patient data.
// Throws std::invalid_argument for an unknown origin.
std::string readmeText(const ReadmeFacts& facts);

}  // namespace sealport::media
