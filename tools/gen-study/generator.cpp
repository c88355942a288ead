#include "sealport/synthstudy/generator.hpp"
#include "sealport/core/crypto.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>

#include "dataset.hpp"
#include "encode.hpp"
#include "sealport/core/files.hpp"
#include "sealport/core/handles.hpp"
#include "sealport/synthstudy/charset.hpp"
#include "sealport/synthstudy/modality.hpp"
#include "sealport/synthstudy/uid.hpp"

namespace sealport::synthstudy {
namespace {

namespace fs = std::filesystem;

unsigned bitsStoredFor(const ModalityProfile& profile, const SeriesSpec& spec) {
    if (profile.kind == Kind::SC && spec.bitsAllocated == 16)
        return 12;
    return profile.bitsStored;
}

std::string sha256Hex(const std::vector<std::uint8_t>& bytes) { return core::toHex(core::sha256(bytes)); }

void makeDirectory(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        throw OutputError("cannot create " + dir.string() + ": " + std::strerror(errno));
    }
}

// Readers never see a half-written file under its final name. No fsync:
// the output is reproducible from the seed, and a thousand fsyncs would
// dominate the run time of the ingest benchmark.
void writeNewFile(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
    const fs::path part = path.parent_path() / ("." + path.filename().string() + ".part");
    core::UniqueFd fd(
        ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd)
        throw OutputError("cannot create " + part.string() + ": " + std::strerror(errno));
    try {
        core::writeAll(fd.get(), bytes);
    } catch (const std::system_error& e) {
        ::unlink(part.c_str());
        throw OutputError("cannot write " + part.string() + ": " + e.what());
    }
    if (::close(fd.release()) != 0) {
        ::unlink(part.c_str());
        throw OutputError("cannot write " + part.string() + ": " + std::strerror(errno));
    }
    if (::rename(part.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(part.c_str());
        throw OutputError("cannot rename to " + path.string() + ": " + std::strerror(err));
    }
}

// Built by appending: GCC 12 at -O2 reports a false -Wrestrict on
// `"I" + std::to_string(n) + ".dcm"` (GCC bug 105329).
std::string numberedName(std::string_view prefix, unsigned n, std::string_view suffix) {
    std::string name(prefix);
    name.append(std::to_string(n));
    name.append(suffix);
    return name;
}

TransferSyntax effectiveSyntax(const ModalityProfile& profile, TransferSyntax requested) {
    if (profile.payload != Payload::Image && isEncapsulated(requested))
        return TransferSyntax::Explicit;
    return requested;
}

}  // namespace

void checkFeasible(const StudySpec& spec) {
    for (const SeriesSpec& s : spec.series) {
        const ModalityProfile& p = profileFor(s.kind);
        if (p.payload != Payload::Image)
            continue;
        if (spec.transferSyntax == TransferSyntax::JpegBaseline && s.bitsAllocated != 8) {
            throw UsageError(
                "--transfer-syntax jpeg-baseline holds 8-bit samples only, and " +
                std::string(p.name) +
                " is 16-bit; use jpeg-extended, jpeg-lossless, jpeg-ls or rle, or an 8-bit "
                "modality (US, SC, XA, RF)");
        }
        if (spec.transferSyntax == TransferSyntax::JpegExtended && bitsStoredFor(p, s) > 12) {
            throw UsageError("--transfer-syntax jpeg-extended holds at most 12 bits, and " +
                             std::string(p.name) + " stores 16; use jpeg-lossless, jpeg-ls or rle");
        }
    }
    std::error_code ec;
    const auto status = fs::status(spec.out, ec);
    if (!ec && fs::exists(status)) {
        if (!fs::is_directory(status))
            throw UsageError("--out " + spec.out.string() + " is not a directory");
        if (!fs::is_empty(spec.out, ec) || ec) {
            throw UsageError("--out " + spec.out.string() +
                             " is not empty; give a new or empty directory");
        }
    }
}

nlohmann::json generateStudy(const StudySpec& spec, std::ostream& notes) {
    checkFeasible(spec);
    const CodecRegistration codecs;
    const UidFactory uids(spec.seed);

    std::error_code ec;
    fs::create_directories(spec.out, ec);
    if (ec)
        throw OutputError("cannot create " + spec.out.string() + ": " + ec.message());

    const Charset cs = spec.charset;
    StudyValues study;
    study.specificCharacterSet = std::string(specificCharacterSet(cs));
    study.patientName = encodeText(spec.patientName, cs, "--patient-name");
    study.patientId = encodeText(spec.patientId, cs, "--patient-id");
    study.birthDate = spec.birthDate;
    study.sex = spec.sex;
    study.studyUid = spec.studyUid.value_or(uids.make("study"));
    study.studyDate = spec.studyDate;
    study.studyTime = spec.studyTime;
    study.studyDescription = encodeText(spec.studyDescription, cs, "--study-description");
    study.accession = encodeText(spec.accession, cs, "--accession");
    study.referring = encodeText(spec.referring, cs, "--referring");
    study.studyId = "1";

    nlohmann::json manifest;
    manifest["generator"] = "sealport-gen-study";
    manifest["version"] = SEALPORT_VERSION;
    manifest["seed"] = spec.seed;
    manifest["out"] = fs::absolute(spec.out).lexically_normal().string();
    manifest["patient"] = {{"id", spec.patientId},
                           {"name", spec.patientName},
                           {"birth_date", spec.birthDate},
                           {"sex", spec.sex},
                           {"charset", study.specificCharacterSet}};
    manifest["study"] = {{"uid", study.studyUid},
                         {"id", study.studyId},
                         {"date", spec.studyDate},
                         {"time", spec.studyTime},
                         {"description", spec.studyDescription},
                         {"accession", spec.accession},
                         {"referring", spec.referring}};
    manifest["transfer_syntax"] = transferSyntaxName(spec.transferSyntax);
    nlohmann::json seriesList = nlohmann::json::array();

    for (std::size_t i = 0; i < spec.series.size(); ++i) {
        const SeriesSpec& s = spec.series[i];
        const ModalityProfile& profile = profileFor(s.kind);
        const auto number = static_cast<unsigned>(i + 1);
        const std::string label = "series:" + std::to_string(number);

        SeriesValues series;
        series.profile = &profile;
        series.spec = s;
        series.number = number;
        series.seriesUid = uids.make(label);
        series.frameOfReferenceUid = uids.make(label + ":frame-of-reference");
        series.dimensionOrganizationUid = uids.make(label + ":dimension-organization");
        series.description = std::string(profile.seriesDescription);
        series.sopClassUid = sopClassFor(profile, s);
        series.bitsStored = bitsStoredFor(profile, s);
        std::optional<SyntheticPattern> pattern;
        if (profile.payload == Payload::Image || profile.payload == Payload::Segmentation) {
            pattern.emplace(s.rows, s.columns, (1u << series.bitsStored) - 1);
            series.pattern = &*pattern;
        }

        const TransferSyntax ts = effectiveSyntax(profile, spec.transferSyntax);
        if (ts != spec.transferSyntax) {
            notes << "sealport-gen-study: series " << number << " (" << profile.name
                  << ") written as explicit, not " << transferSyntaxName(spec.transferSyntax)
                  << (profile.payload == Payload::Segmentation
                          ? ": 1-bit SEG pixel data is not compressed\n"
                          : ": it has no pixel data\n");
        }

        const fs::path dirName = numberedName("S", number, "");
        makeDirectory(spec.out / dirName);

        nlohmann::json instances = nlohmann::json::array();
        for (unsigned k = 1; k <= s.count; ++k) {
            const std::string instanceLabel = label + ":instance:" + std::to_string(k);
            InstanceValues instance;
            instance.number = k;
            instance.sopInstanceUid = uids.make(instanceLabel);
            instance.noiseSeed = derive64(spec.seed, instanceLabel + ":noise");

            DcmFileFormat file;
            buildDataset(*file.getDataset(), study, series, instance);
            std::vector<std::uint8_t> bytes;
            try {
                bytes = encodeFile(file, ts);
            } catch (const std::runtime_error& e) {
                throw OutputError(std::string("series ") + std::to_string(number) + " instance " +
                                  std::to_string(k) + ": " + e.what());
            }
            const fs::path relative = dirName / numberedName("I", k, ".dcm");
            writeNewFile(spec.out / relative, bytes);
            instances.push_back({{"path", relative.string()},
                                 {"sop_class_uid", series.sopClassUid},
                                 {"sop_instance_uid", instance.sopInstanceUid},
                                 {"instance_number", k},
                                 {"transfer_syntax_uid", transferSyntaxUid(ts)},
                                 {"size", bytes.size()},
                                 {"sha256", sha256Hex(bytes)}});
        }

        nlohmann::json entry = {
            {"uid", series.seriesUid},           {"number", number},
            {"modality", profile.modality},      {"kind", profile.name},
            {"description", series.description}, {"sop_class_uid", series.sopClassUid},
            {"instances", std::move(instances)}};
        if (series.pattern != nullptr) {
            entry["rows"] = s.rows;
            entry["columns"] = s.columns;
            entry["frames"] = s.frames;
            entry["bits_allocated"] = s.bitsAllocated;
            entry["bits_stored"] = series.bitsStored;
        }
        seriesList.push_back(std::move(entry));
    }
    manifest["series"] = std::move(seriesList);
    return manifest;
}

}  // namespace sealport::synthstudy
