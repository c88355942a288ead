#include "gen_study_support.hpp"
#include "sealport/core/crypto.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace sealport::testing {

std::filesystem::path genStudyBinary() {
    return std::filesystem::path(SEALPORT_BIN_DIR) / "sealport-gen-study";
}

ProcessResult runGenStudy(const std::filesystem::path& out, const std::vector<std::string>& args) {
    std::vector<std::string> argv{genStudyBinary().string(), "--out", out.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv);
}

nlohmann::json generate(const std::filesystem::path& out, const std::vector<std::string>& args) {
    const ProcessResult r = runGenStudy(out, args);
    INFO("stderr: " << r.err);
    REQUIRE(r.exitCode == 0);
    return nlohmann::json::parse(r.out);
}

std::vector<std::uint8_t> readBytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open " + path.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string sha256Hex(const std::vector<std::uint8_t>& bytes) { return core::toHex(core::sha256(bytes)); }

std::string latin1ToUtf8(std::string_view latin1) {
    std::string out;
    for (const char c : latin1) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x80) {
            out.push_back(c);
        } else {
            out.push_back(static_cast<char>(0xC0 | (u >> 6)));
            out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
        }
    }
    return out;
}

bool contains(const std::vector<std::uint8_t>& haystack, std::string_view needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                       [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }) !=
           haystack.end();
}

DicomFile::DicomFile(const std::filesystem::path& path) : file_(std::make_unique<DcmFileFormat>()) {
    const OFCondition cond = file_->loadFile(path.c_str());
    if (cond.bad())
        throw std::runtime_error("DCMTK cannot load " + path.string() + ": " + cond.text());
}

DicomFile::~DicomFile() = default;

bool DicomFile::has(const DcmTagKey& tag) const {
    return file_->getDataset()->tagExists(tag);
}

std::string DicomFile::str(const DcmTagKey& tag) const {
    OFString value;
    if (file_->getDataset()->findAndGetOFStringArray(tag, value).bad())
        return "<absent>";
    return value.c_str();
}

std::string DicomFile::metaStr(const DcmTagKey& tag) const {
    OFString value;
    if (file_->getMetaInfo()->findAndGetOFStringArray(tag, value).bad())
        return "<absent>";
    return value.c_str();
}

long DicomFile::integer(const DcmTagKey& tag) const {
    Uint16 u16 = 0;
    if (file_->getDataset()->findAndGetUint16(tag, u16).good())
        return u16;
    Uint32 u32 = 0;
    if (file_->getDataset()->findAndGetUint32(tag, u32).good())
        return static_cast<long>(u32);
    Sint32 s32 = 0;
    if (file_->getDataset()->findAndGetSint32(tag, s32).good())
        return s32;
    return -1;
}

std::string DicomFile::text(const DcmTagKey& tag) const {
    const std::string raw = str(tag);
    return str(DCM_SpecificCharacterSet) == "ISO_IR 100" ? latin1ToUtf8(raw) : raw;
}

}  // namespace sealport::testing
