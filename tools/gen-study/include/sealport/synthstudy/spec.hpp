#pragma once

// What to generate, as a validated value parsed from the command line.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sealport::synthstudy {

// A bad command line or a request the generator cannot honour: exit 64.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Specific Character Set of the written files.
enum class Charset {
    Latin1,  // ISO_IR_100
    Utf8,    // ISO_IR_192
    Ascii,   // none: default repertoire, no (0008,0005)
};

enum class TransferSyntax {
    Implicit,
    Explicit,
    Deflated,
    JpegBaseline,
    JpegExtended,
    JpegLossless,
    JpegLs,
    JpegLsLossless,
    Jpeg2000,
    Jpeg2000Lossless,
    Rle,
};

// The command-line modality names; the DICOM Modality may differ (SC -> OT, PDF -> DOC).
enum class Kind { CT, MR, CR, DX, MG, US, NM, PT, XA, RF, SC, SEG, SR, PDF };

struct SeriesSpec {
    Kind kind = Kind::CT;
    unsigned count = 10;
    unsigned rows = 64;
    unsigned columns = 64;
    unsigned frames = 1;
    unsigned bitsAllocated = 0;  // 0: the modality's usual depth
};

struct StudySpec {
    std::filesystem::path out;
    std::uint64_t seed = 0;
    Charset charset = Charset::Latin1;
    // Text as given on the command line, UTF-8.
    std::string patientId;
    std::string patientName;
    std::string birthDate;
    std::string sex;
    std::optional<std::string> studyUid;  // generated from the seed when absent
    std::string accession;
    std::string studyDescription;
    std::string referring;
    std::string studyDate;
    std::string studyTime;
    std::vector<SeriesSpec> series;
    TransferSyntax transferSyntax = TransferSyntax::Explicit;
};

struct Command {
    bool help = false;
    StudySpec spec;
};

// Parses the arguments after argv[0]; every default is resolved here, so the
// result fully determines the output. Throws UsageError.
Command parseCommandLine(std::span<const std::string_view> args);

std::string usageText();

std::string_view transferSyntaxName(TransferSyntax ts);
std::string_view kindName(Kind kind);

}  // namespace sealport::synthstudy
