#include "sealport/synthstudy/spec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <map>

#include "sealport/synthstudy/charset.hpp"
#include "sealport/synthstudy/modality.hpp"
#include "sealport/synthstudy/uid.hpp"

namespace sealport::synthstudy {
namespace {

struct SyntheticPatient {
    std::string_view name;       // UTF-8, with accents
    std::string_view asciiName;  // for --charset none
    std::string_view sex;
};

// Invented French names; each needs ISO 8859-1 characters beyond ASCII.
constexpr std::array<SyntheticPatient, 8> kPatients{{
    {"Lefèvre^Amélie", "Lefevre^Amelie", "F"},
    {"Gagné^Jérôme", "Gagne^Jerome", "M"},
    {"Bélanger^Françoise", "Belanger^Francoise", "F"},
    {"Côté^Noël", "Cote^Noel", "M"},
    {"Mercier^Anaïs", "Mercier^Anais", "F"},
    {"Leclère^Éric", "Leclere^Eric", "M"},
    {"Girard^Cécile", "Girard^Cecile", "F"},
    {"Roussel^Benoît", "Roussel^Benoit", "M"},
}};

constexpr std::array<std::pair<std::string_view, TransferSyntax>, 11> kTransferSyntaxes{{
    {"implicit", TransferSyntax::Implicit},
    {"explicit", TransferSyntax::Explicit},
    {"deflated", TransferSyntax::Deflated},
    {"jpeg-baseline", TransferSyntax::JpegBaseline},
    {"jpeg-extended", TransferSyntax::JpegExtended},
    {"jpeg-lossless", TransferSyntax::JpegLossless},
    {"jpeg-ls", TransferSyntax::JpegLs},
    {"jpeg-ls-lossless", TransferSyntax::JpegLsLossless},
    {"jpeg2000", TransferSyntax::Jpeg2000},
    {"jpeg2000-lossless", TransferSyntax::Jpeg2000Lossless},
    {"rle", TransferSyntax::Rle},
}};

constexpr unsigned kMaxCount = 100000;
constexpr unsigned kMaxDimension = 8192;
constexpr unsigned kMaxFrames = 10000;
constexpr unsigned long long kMaxPixelBytes = 1ULL << 30;  // per instance

template <typename T>
T parseNumber(std::string_view text, T min, T max, std::string_view what) {
    T value{};
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || value < min ||
        value > max) {
        throw UsageError(std::string(what) + ": expected a number from " + std::to_string(min) +
                         " to " + std::to_string(max) + ", got '" + std::string(text) + "'");
    }
    return value;
}

bool allDigits(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void checkDate(std::string_view value, std::string_view what) {
    if (value.size() != 8 || !allDigits(value)) {
        throw UsageError(std::string(what) + ": expected YYYYMMDD, got '" + std::string(value) +
                         "'");
    }
    const int year = std::stoi(std::string(value.substr(0, 4)));
    const int month = std::stoi(std::string(value.substr(4, 2)));
    const int day = std::stoi(std::string(value.substr(6, 2)));
    static constexpr std::array<int, 12> kDays{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1800 || month < 1 || month > 12 || day < 1 ||
        day > kDays[static_cast<std::size_t>(month - 1)] || (month == 2 && day == 29 && !leap)) {
        throw UsageError(std::string(what) + ": not a valid date: '" + std::string(value) + "'");
    }
}

void checkTime(std::string_view value, std::string_view what) {
    if (value.size() != 6 || !allDigits(value) || std::stoi(std::string(value.substr(0, 2))) > 23 ||
        std::stoi(std::string(value.substr(2, 2))) > 59 ||
        std::stoi(std::string(value.substr(4, 2))) > 59) {
        throw UsageError(std::string(what) + ": expected HHMMSS, got '" + std::string(value) + "'");
    }
}

// Character-level checks shared by LO, SH and PN values: no control
// characters and no backslash (the value multiplicity separator).
void checkText(std::string_view utf8, std::size_t maxChars, std::string_view what) {
    if (!isValidUtf8(utf8))
        throw UsageError(std::string(what) + " is not valid UTF-8");
    for (const char c : utf8) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F || c == '\\') {
            throw UsageError(std::string(what) + " must not hold control characters or '\\'");
        }
    }
    if (codePointCount(utf8) > maxChars) {
        throw UsageError(std::string(what) + " is longer than " + std::to_string(maxChars) +
                         " characters");
    }
}

void checkPersonName(std::string_view utf8, std::string_view what) {
    checkText(utf8, 3 * 64 + 2, what);
    std::size_t start = 0;
    for (int group = 0;; ++group) {
        const std::size_t eq = utf8.find('=', start);
        const std::string_view part = utf8.substr(start, eq == utf8.npos ? utf8.npos : eq - start);
        if (group >= 3)
            throw UsageError(std::string(what) + " has more than three component groups");
        if (codePointCount(part) > 64) {
            throw UsageError(std::string(what) +
                             ": a component group is longer than 64 characters");
        }
        if (std::count(part.begin(), part.end(), '^') > 4) {
            throw UsageError(std::string(what) + " has more than five components");
        }
        if (eq == utf8.npos)
            break;
        start = eq + 1;
    }
}

SeriesSpec parseSeries(std::string_view text) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
        const std::size_t colon = text.find(':', start);
        fields.push_back(text.substr(start, colon == text.npos ? text.npos : colon - start));
        if (colon == text.npos)
            break;
        start = colon + 1;
    }
    const std::string what = "--series '" + std::string(text) + "'";
    if (fields.size() < 2 || fields.size() > 5) {
        throw UsageError(what + ": expected MODALITY:COUNT[:ROWSxCOLS[:FRAMES[:BITS]]]");
    }
    std::string name(fields[0]);
    std::transform(name.begin(), name.end(), name.begin(), [](char c) {
        return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    });
    const auto kind = kindFromName(name);
    if (!kind) {
        throw UsageError(what + ": unknown modality '" + std::string(fields[0]) +
                         "' (CT MR CR DX MG US NM PT XA RF SC SEG SR PDF)");
    }
    const ModalityProfile& profile = profileFor(*kind);
    SeriesSpec s;
    s.kind = *kind;
    s.count = parseNumber<unsigned>(fields[1], 1, kMaxCount, what + " COUNT");
    if (fields.size() >= 3) {
        if (profile.payload == Payload::Report || profile.payload == Payload::Document) {
            throw UsageError(what + ": " + name + " has no pixel data; give MODALITY:COUNT only");
        }
        const std::size_t x = fields[2].find('x');
        if (x == std::string_view::npos)
            throw UsageError(what + ": expected ROWSxCOLS, e.g. 512x512");
        s.rows = parseNumber<unsigned>(fields[2].substr(0, x), 1, kMaxDimension, what + " ROWS");
        s.columns =
            parseNumber<unsigned>(fields[2].substr(x + 1), 1, kMaxDimension, what + " COLS");
    }
    if (fields.size() >= 4) {
        s.frames = parseNumber<unsigned>(fields[3], 1, kMaxFrames, what + " FRAMES");
        if (s.frames > 1 && !profile.framesAllowed) {
            throw UsageError(
                what + ": the " + name +
                " image IOD is single-frame; FRAMES > 1 is possible for US, NM, XA, RF, SC "
                "and SEG");
        }
    }
    if (fields.size() == 5) {
        if (s.kind != Kind::SC)
            throw UsageError(what + ": BITS is only for SC (8 or 16)");
        s.bitsAllocated = parseNumber<unsigned>(fields[4], 8, 16, what + " BITS");
        if (s.bitsAllocated != 8 && s.bitsAllocated != 16)
            throw UsageError(what + ": BITS is 8 or 16");
    }
    if (s.bitsAllocated == 0)
        s.bitsAllocated = profile.bitsAllocated;
    const unsigned long long bits = 1ULL * s.rows * s.columns * s.frames * profile.samplesPerPixel *
                                    std::max(1u, s.bitsAllocated);
    if (bits / 8 > kMaxPixelBytes)
        throw UsageError(what + ": more than 1 GiB of pixel data per instance");
    return s;
}

}  // namespace

std::string_view transferSyntaxName(TransferSyntax ts) {
    for (const auto& [name, value] : kTransferSyntaxes) {
        if (value == ts)
            return name;
    }
    return "explicit";
}

std::string usageText() {
    return R"(usage: sealport-gen-study --out DIR [options]

Writes a synthetic DICOM study (Part 10 files DIR/S<series>/I<instance>.dcm)
and prints one JSON manifest of what it wrote on stdout. No patient data: all
names, identifiers, UIDs and pixels are invented and derived from --seed.

  --out DIR                  output directory; created if missing, must be empty
  --seed N                   64-bit seed (default 0); same seed and options give
                             byte-identical files, another seed other UIDs/identity
  --patient-id ID            default: SYN + 7 digits from the seed
  --patient-name "Fam^Given" UTF-8; default: an invented French name with accents
  --charset ISO_IR_100|ISO_IR_192|none
                             ISO_IR_100 (default): text stored as Latin-1 bytes;
                             ISO_IR_192: UTF-8; none: ASCII only, non-ASCII refused
  --birth-date YYYYMMDD      default: from the seed
  --sex M|F|O
  --study-uid UID            default: 2.25.<128 bits from the seed>
  --accession TEXT           default: ACC + 8 digits from the seed (max 16 chars)
  --study-description TEXT   default: "Synthetic study"
  --referring "Fam^Given"    default: "Durand^Paul"
  --study-date YYYYMMDD      default: 20240612
  --study-time HHMMSS        default: 101500
  --series MODALITY:COUNT[:ROWSxCOLS[:FRAMES[:BITS]]]
                             repeatable; default CT:10:64x64. MODALITY is one of
                             CT MR CR DX MG US NM PT XA RF SC SEG SR PDF.
                             FRAMES > 1 for US (multi-frame US), NM, XA, RF,
                             SC (multi-frame byte/word SC) and SEG only.
                             BITS (8 or 16) for SC only. SR and PDF take COUNT only.
  --transfer-syntax NAME     implicit, explicit (default), deflated, jpeg-baseline,
                             jpeg-extended, jpeg-lossless, jpeg-ls,
                             jpeg-ls-lossless, jpeg2000, jpeg2000-lossless, rle
  --help                     this text

Transfer syntax notes:
  - jpeg-baseline holds 8-bit samples only: it is refused for the 16-bit
    modalities (CT MR CR DX MG NM PT, SC:...:16); use jpeg-extended (12-bit),
    jpeg-lossless, jpeg-ls or rle for those. jpeg-extended is refused for NM
    and PT (16 bits stored).
  - jpeg2000 and jpeg2000-lossless: DCMTK has no JPEG 2000 encoder. Each frame
    is a hand-built, structurally valid codestream (SOC SIZ COD QCD ... EOC)
    with every packet empty: a decoder yields a flat grey frame of the right
    size, NOT the synthetic image. They exist to exercise byte-exact storage
    of those transfer syntaxes, not image decoding.
  - SR and PDF have no pixel data and SEG is 1 bit per pixel: under any
    compressed transfer syntax they are written in Explicit VR Little Endian
    (a note goes to stderr); the manifest gives each file's real syntax.

Exit status: 0 written, 64 bad arguments (nothing written), 1 write or encode failure.
)";
}

Command parseCommandLine(std::span<const std::string_view> args) {
    Command cmd;
    std::map<std::string, std::string, std::less<>> values;
    std::vector<std::string_view> seriesArgs;
    static constexpr std::array<std::string_view, 15> kOptions{
        "--out",        "--patient-id", "--patient-name", "--charset",           "--birth-date",
        "--sex",        "--study-uid",  "--accession",    "--study-description", "--referring",
        "--study-date", "--study-time", "--series",       "--transfer-syntax",   "--seed"};

    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") {
            cmd.help = true;
            return cmd;
        }
        std::string_view name = arg;
        std::optional<std::string_view> value;
        if (const auto eq = arg.find('='); arg.starts_with("--") && eq != arg.npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        }
        if (std::find(kOptions.begin(), kOptions.end(), name) == kOptions.end()) {
            throw UsageError("unknown argument '" + std::string(arg) + "' (see --help)");
        }
        if (!value) {
            if (i + 1 >= args.size())
                throw UsageError(std::string(name) + " needs a value");
            value = args[++i];
        }
        if (name == "--series") {
            seriesArgs.push_back(*value);
        } else if (!values.emplace(std::string(name), std::string(*value)).second) {
            throw UsageError(std::string(name) + " given twice");
        }
    }

    StudySpec& spec = cmd.spec;
    const auto get = [&](std::string_view name) -> std::optional<std::string> {
        const auto it = values.find(name);
        if (it == values.end())
            return std::nullopt;
        return it->second;
    };

    const auto out = get("--out");
    if (!out || out->empty())
        throw UsageError("--out DIR is required (see --help)");
    spec.out = *out;

    if (const auto seed = get("--seed")) {
        spec.seed = parseNumber<std::uint64_t>(*seed, 0, std::numeric_limits<std::uint64_t>::max(),
                                               "--seed");
    }

    if (const auto cs = get("--charset")) {
        if (*cs == "ISO_IR_100" || *cs == "ISO_IR 100") {
            spec.charset = Charset::Latin1;
        } else if (*cs == "ISO_IR_192" || *cs == "ISO_IR 192") {
            spec.charset = Charset::Utf8;
        } else if (*cs == "none") {
            spec.charset = Charset::Ascii;
        } else {
            throw UsageError("--charset: expected ISO_IR_100, ISO_IR_192 or none, got '" + *cs +
                             "'");
        }
    }

    const SyntheticPatient& patient = kPatients[spec.seed % kPatients.size()];
    // Zero-padded decimal digits derived from the seed.
    const auto digits = [&](std::string_view label, unsigned width) {
        std::uint64_t modulo = 1;
        for (unsigned i = 0; i < width; ++i)
            modulo *= 10;
        std::string s = std::to_string(derive64(spec.seed, label) % modulo);
        return std::string(width - s.size(), '0') + s;
    };

    const auto name = get("--patient-name");
    spec.patientName =
        name ? *name
             : std::string(spec.charset == Charset::Ascii ? patient.asciiName : patient.name);
    checkPersonName(spec.patientName, "--patient-name");
    spec.sex = get("--sex").value_or(name ? "O" : std::string(patient.sex));
    if (spec.sex != "M" && spec.sex != "F" && spec.sex != "O") {
        throw UsageError("--sex: expected M, F or O, got '" + spec.sex + "'");
    }
    spec.patientId = get("--patient-id").value_or("SYN" + digits("patient-id", 7));
    if (spec.patientId.empty())
        throw UsageError("--patient-id must not be empty");
    checkText(spec.patientId, 64, "--patient-id");

    if (const auto bd = get("--birth-date")) {
        spec.birthDate = *bd;
    } else {
        const std::uint64_t d = derive64(spec.seed, "birth-date");
        const auto year = 1940 + d % 60;
        const auto month = 1 + (d >> 16) % 12;
        const auto day = 1 + (d >> 32) % 28;
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04u%02u%02u", static_cast<unsigned>(year),
                      static_cast<unsigned>(month), static_cast<unsigned>(day));
        spec.birthDate = buf;
    }
    checkDate(spec.birthDate, "--birth-date");

    if (const auto uid = get("--study-uid")) {
        if (!isValidUid(*uid)) {
            throw UsageError(
                "--study-uid: not a valid UID (digits and dots, no leading zeros, max 64): '" +
                *uid + "'");
        }
        spec.studyUid = *uid;
    }
    spec.accession = get("--accession").value_or("ACC" + digits("accession", 8));
    checkText(spec.accession, 16, "--accession");
    spec.studyDescription = get("--study-description").value_or("Synthetic study");
    checkText(spec.studyDescription, 64, "--study-description");
    spec.referring = get("--referring").value_or("Durand^Paul");
    checkPersonName(spec.referring, "--referring");
    spec.studyDate = get("--study-date").value_or("20240612");
    checkDate(spec.studyDate, "--study-date");
    spec.studyTime = get("--study-time").value_or("101500");
    checkTime(spec.studyTime, "--study-time");

    // Every text value must be representable in the chosen character set.
    encodeText(spec.patientName, spec.charset, "--patient-name");
    encodeText(spec.patientId, spec.charset, "--patient-id");
    encodeText(spec.accession, spec.charset, "--accession");
    encodeText(spec.studyDescription, spec.charset, "--study-description");
    encodeText(spec.referring, spec.charset, "--referring");

    if (const auto ts = get("--transfer-syntax")) {
        const auto it = std::find_if(kTransferSyntaxes.begin(), kTransferSyntaxes.end(),
                                     [&](const auto& e) { return e.first == *ts; });
        if (it == kTransferSyntaxes.end()) {
            throw UsageError("--transfer-syntax: unknown '" + *ts + "' (see --help)");
        }
        spec.transferSyntax = it->second;
    }

    for (const auto s : seriesArgs)
        spec.series.push_back(parseSeries(s));
    if (spec.series.empty())
        spec.series.push_back(parseSeries("CT:10:64x64"));
    return cmd;
}

}  // namespace sealport::synthstudy
