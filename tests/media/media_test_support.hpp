#pragma once

// A real state (SQLCipher catalogue, encrypted blob store) filled through the
// real ingest pipeline with studies from sealport-gen-study's generator, and
// helpers to lay a file-set out on disk and read its DICOMDIR back with DCMTK.

#include <dcmtk/dcmdata/dcdicdir.h>
#include <dcmtk/dcmdata/dcdirrec.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dicom_builder.hpp"  // tests/ingest: synthetic objects built with DCMTK
#include "run_process.hpp"    // tests/tools
#include "sealport/core/keys.hpp"
#include "sealport/ingest/pipeline.hpp"
#include "sealport/media/fileset.hpp"
#include "sealport/synthstudy/generator.hpp"
#include "sealport/synthstudy/spec.hpp"
#include "temp_dir.hpp"

namespace sealport::mediatest {

using ingest::test::Bytes;

inline Bytes readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open " + path.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void writeFile(const std::filesystem::path& path, const Bytes& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

inline std::string latin1ToUtf8(std::string_view latin1) {
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

struct Fixture {
    sealport::testing::TempDir dir{"sealport-media"};
    core::SystemClock clock;
    core::KeyRing keys = core::deriveKeyRing(core::SecretBytes(std::vector<std::uint8_t>(32, 9)));
    state::State st{dir.path() / "state", keys, clock, 64};
    std::unique_ptr<state::Connection> conn = st.connect(clock);
    ingest::IngestPipeline pipeline{*conn, st.blobs(), clock, 256U << 20};
    const state::Actor actor{std::nullopt, std::nullopt, "test"};
    std::filesystem::path scratch = dir.path() / "scratch";
    int generated = 0;

    Fixture() {
        // The generator sets DCMTK's log level to WARN; the header reader's
        // "PixelData encountered, skipping rest of dataset" is one per file.
        OFLog::configure(OFLogger::ERROR_LOG_LEVEL);
        std::filesystem::create_directory(scratch);
        std::filesystem::permissions(scratch, std::filesystem::perms::owner_all);
    }

    void store(const Bytes& part10) {
        const auto r = pipeline.store(part10, "import:test", actor);
        INFO(r.detail);
        REQUIRE(r.status == ingest::StoreStatus::stored);
    }

    // Runs the generator as `sealport-gen-study --out <fresh dir> args...`,
    // ingests every file it wrote and returns its manifest.
    nlohmann::json generate(std::vector<std::string> args) {
        const auto out = dir.path() / ("gen" + std::to_string(++generated));
        args.insert(args.begin(), {"--out", out.string()});
        const std::vector<std::string_view> views(args.begin(), args.end());
        const auto command = synthstudy::parseCommandLine(views);
        std::ostringstream notes;
        nlohmann::json manifest = synthstudy::generateStudy(command.spec, notes);
        OFLog::configure(OFLogger::ERROR_LOG_LEVEL);
        for (const auto& series : manifest["series"])
            for (const auto& instance : series["instances"])
                store(readFile(out / instance["path"].get<std::string>()));
        return manifest;
    }

    std::vector<media::PlacedInstance> plan(const std::vector<std::string>& studyUids) {
        return media::planFileSet(st.catalogue(), studyUids);
    }

    Bytes build(const std::vector<media::PlacedInstance>& files,
                const std::string& fileSetId = "SEALPORT") {
        return media::buildDicomDir(st.blobs(), files, fileSetId, scratch);
    }

    // DICOMDIR and every file at its path under `root`, as the ZIP unpacks.
    void layOut(const std::filesystem::path& root, const std::vector<media::PlacedInstance>& files,
                const Bytes& dicomdir) {
        writeFile(root / "DICOMDIR", dicomdir);
        for (const auto& f : files) {
            auto blob = st.blobs().get(f.instance.blobId);
            REQUIRE(std::holds_alternative<core::Bytes>(blob));
            writeFile(root / f.path, std::get<core::Bytes>(blob));
        }
    }

    [[nodiscard]] std::size_t scratchEntries() const {
        return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(scratch),
                                                      std::filesystem::directory_iterator()));
    }
};

inline std::string str(DcmItem& item, const DcmTagKey& key) {
    OFString v;
    item.findAndGetOFStringArray(key, v);
    return v.c_str();
}

// One directory record, flattened for checks.
struct Record {
    std::string type;  // DirectoryRecordType, e.g. "IMAGE"
    int depth = 0;     // 0 patient, 1 study, 2 series, 3 instance
    DcmDirectoryRecord* item = nullptr;
    std::string get(const DcmTagKey& key) const { return str(*item, key); }
    bool has(const DcmTagKey& key) const { return item->tagExists(key) != OFFalse; }
};

// Reads a DICOMDIR with DCMTK's own DcmDicomDir and lists its records in tree order.
class DicomDirReader {
  public:
    explicit DicomDirReader(const std::filesystem::path& file) : dir_(file.c_str()) {
        REQUIRE(dir_.error().good());
        walk(dir_.getRootRecord(), 0);
    }
    DicomDirReader(const DicomDirReader&) = delete;
    DicomDirReader& operator=(const DicomDirReader&) = delete;

    [[nodiscard]] const std::vector<Record>& records() const noexcept { return records_; }
    [[nodiscard]] std::vector<Record> ofDepth(int depth) const {
        std::vector<Record> out;
        for (const auto& r : records_)
            if (r.depth == depth)
                out.push_back(r);
        return out;
    }
    DcmDicomDir& dir() { return dir_; }

  private:
    void walk(DcmDirectoryRecord& parent, int depth) {
        for (unsigned long i = 0; i < parent.cardSub(); ++i) {
            DcmDirectoryRecord* r = parent.getSub(i);
            records_.push_back(Record{str(*r, DCM_DirectoryRecordType), depth, r});
            walk(*r, depth + 1);
        }
    }

    DcmDicomDir dir_;
    std::vector<Record> records_;
};

struct ToolRun {
    int exitCode = -1;
    std::string output;  // stdout and stderr
};

inline ToolRun runTool(const std::vector<std::string>& argv) {
    const auto r = sealport::testing::runProcess(argv);
    return ToolRun{r.exitCode, r.out + r.err};
}

inline std::vector<std::string> linesWith(const std::string& text, std::string_view word) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.find(word) != std::string::npos)
            out.push_back(line);
    return out;
}

}  // namespace sealport::mediatest
