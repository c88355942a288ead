#pragma once

// Helpers for the sealport-gen-study tests: run the real binary, read back
// its files with DCMTK.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run_process.hpp"

class DcmFileFormat;
class DcmTagKey;

namespace sealport::testing {

std::filesystem::path genStudyBinary();

// Runs sealport-gen-study --out `out` with `args`.
ProcessResult runGenStudy(const std::filesystem::path& out, const std::vector<std::string>& args);

// Runs it, requires success and returns the parsed manifest.
nlohmann::json generate(const std::filesystem::path& out, const std::vector<std::string>& args);

std::vector<std::uint8_t> readBytes(const std::filesystem::path& path);
std::string sha256Hex(const std::vector<std::uint8_t>& bytes);
std::string latin1ToUtf8(std::string_view latin1);
bool contains(const std::vector<std::uint8_t>& haystack, std::string_view needle);

// A Part 10 file loaded with DCMTK; strings are the raw bytes of the file.
class DicomFile {
  public:
    explicit DicomFile(const std::filesystem::path& path);
    ~DicomFile();
    DicomFile(const DicomFile&) = delete;
    DicomFile& operator=(const DicomFile&) = delete;

    [[nodiscard]] bool has(const DcmTagKey& tag) const;
    [[nodiscard]] std::string str(const DcmTagKey& tag) const;      // dataset, all values
    [[nodiscard]] std::string metaStr(const DcmTagKey& tag) const;  // meta header
    [[nodiscard]] long integer(const DcmTagKey& tag) const;         // US or IS
    [[nodiscard]] DcmFileFormat& format() const { return *file_; }
    // The dataset's text decoded to UTF-8 as its Specific Character Set says.
    [[nodiscard]] std::string text(const DcmTagKey& tag) const;

  private:
    std::unique_ptr<DcmFileFormat> file_;
};

}  // namespace sealport::testing
