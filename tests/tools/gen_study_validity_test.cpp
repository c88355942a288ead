// The files judged by other people's DICOM tools: dcmdump and the DCMTK
// decompressors, dciodvfy from dicom3tools, and OpenJPEG when installed.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gen_study_support.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace sealport::testing;
using nlohmann::json;

namespace {

const std::vector<std::string> kEveryModality = {
    "--series", "CT:2:32x32",    "--series", "MR:1:32x32",   "--series", "CR:1:32x32",
    "--series", "DX:1:32x32",    "--series", "MG:1:32x32",   "--series", "US:1:32x32",
    "--series", "US:1:32x32:3",  "--series", "NM:1:32x32:2", "--series", "PT:2:32x32",
    "--series", "XA:1:32x32",    "--series", "XA:1:32x32:3", "--series", "RF:1:32x32:2",
    "--series", "SC:1:32x32",    "--series", "SC:1:32x32:3", "--series", "SC:1:32x32:2:16",
    "--series", "SEG:1:32x32:3", "--series", "SR:1",         "--series", "PDF:1"};

void requireTool(const std::string& name) {
    INFO(name << " is not on PATH: run scripts/install-deps (dcmtk, dicom3tools)");
    REQUIRE(onPath(name));
}

std::vector<std::string> errorLines(const std::string& report) {
    std::vector<std::string> lines;
    std::istringstream in(report);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("Error", 0) == 0 || line.find(" Error - ") != std::string::npos)
            lines.push_back(line);
    }
    return lines;
}

// dciodvfy exits non-zero on errors; warnings are allowed and shown.
void requireValidIod(const fs::path& file) {
    const ProcessResult r = runProcess({"dciodvfy", file.string()});
    CAPTURE(file);
    INFO("dciodvfy said:\n" << r.out << r.err);
    CHECK(errorLines(r.out + r.err).empty());
    CHECK(r.exitCode == 0);
}

std::vector<std::uint8_t> nativePixelData(const fs::path& file) {
    DicomFile f(file);
    DcmElement* element = nullptr;
    REQUIRE(f.format().getDataset()->findAndGetElement(DCM_PixelData, element).good());
    Uint8* data = nullptr;
    REQUIRE(element->getUint8Array(data).good());
    return {data, data + element->getLength()};
}

}  // namespace

TEST_CASE("dcmdump parses every file of every modality without a complaint") {
    requireTool("dcmdump");
    TempDir dir("gen-study");
    const json m = generate(dir / "study", kEveryModality);
    for (const auto& series : m["series"]) {
        for (const auto& inst : series["instances"]) {
            const fs::path path = dir / "study" / inst["path"].get<std::string>();
            const ProcessResult r = runProcess({"dcmdump", "-q", path.string()});
            CAPTURE(path, r.err);
            CHECK(r.exitCode == 0);
            CHECK(r.err.empty());
        }
    }
}

TEST_CASE("dciodvfy finds no error in any modality's IOD") {
    requireTool("dciodvfy");
    TempDir dir("gen-study");
    const json m = generate(dir / "study", kEveryModality);
    for (const auto& series : m["series"]) {
        const auto& instances = series["instances"];
        requireValidIod(dir / "study" / instances.front()["path"].get<std::string>());
        requireValidIod(dir / "study" / instances.back()["path"].get<std::string>());
    }
}

TEST_CASE("dciodvfy finds no error in CT, MR, US and SC under every transfer syntax") {
    requireTool("dciodvfy");
    requireTool("dcmconv");
    const std::string ts = GENERATE(as<std::string>{}, "implicit", "deflated", "jpeg-baseline",
                                    "jpeg-extended", "jpeg-lossless", "jpeg-ls", "jpeg-ls-lossless",
                                    "jpeg2000", "jpeg2000-lossless", "rle");
    CAPTURE(ts);
    TempDir dir("gen-study");
    // JPEG baseline holds 8 bits only, so the 16-bit CT and MR sit that one out.
    std::vector<std::string> args{"--transfer-syntax", ts,         "--series",
                                  "US:1:32x32:2",      "--series", "SC:1:32x32"};
    if (ts != "jpeg-baseline")
        args.insert(args.end(), {"--series", "CT:1:32x32", "--series", "MR:1:32x32"});
    const json m = generate(dir / "study", args);
    for (const auto& series : m["series"]) {
        fs::path file = dir / "study" / series["instances"][0]["path"].get<std::string>();
        if (ts == "deflated") {
            // dciodvfy cannot inflate: judge the same dataset re-encoded by DCMTK.
            const fs::path inflated = dir / ("inflated-" + series["number"].dump() + ".dcm");
            REQUIRE(runProcess({"dcmconv", "+te", file.string(), inflated.string()}).exitCode == 0);
            file = inflated;
        }
        requireValidIod(file);
    }
}

TEST_CASE("compressed files decompress with DCMTK to the declared rows, columns and frames") {
    const auto [ts, tool, series] = GENERATE(table<std::string, std::string, std::string>({
        {"jpeg-baseline", "dcmdjpeg", "US:1:48x40:3"},
        {"jpeg-baseline", "dcmdjpeg", "SC:1:40x48"},
        {"jpeg-extended", "dcmdjpeg", "CT:1:40x48"},
        {"jpeg-lossless", "dcmdjpeg", "XA:1:40x48:2"},
        {"jpeg-lossless", "dcmdjpeg", "MR:1:40x48"},
        {"jpeg-ls", "dcmdjpls", "NM:1:40x48:2"},
        {"jpeg-ls-lossless", "dcmdjpls", "US:1:40x48"},
        {"rle", "dcmdrle", "PT:1:40x48"},
        {"rle", "dcmdrle", "SC:1:40x48:3:16"},
    }));
    CAPTURE(ts, tool, series);
    requireTool(tool);
    TempDir dir("gen-study");
    const json m = generate(dir / "study", {"--transfer-syntax", ts, "--series", series});
    const json& s = m["series"][0];
    const fs::path file = dir / "study" / s["instances"][0]["path"].get<std::string>();
    const fs::path plain = dir / "plain.dcm";
    const ProcessResult r = runProcess({tool, file.string(), plain.string()});
    INFO(r.err);
    REQUIRE(r.exitCode == 0);

    const DicomFile f(plain);
    CHECK_FALSE(DcmXfer(f.metaStr(DCM_TransferSyntaxUID).c_str()).isEncapsulated());
    CHECK(f.integer(DCM_Rows) == s["rows"].get<long>());
    CHECK(f.integer(DCM_Columns) == s["columns"].get<long>());
    const long frames = f.has(DCM_NumberOfFrames) ? f.integer(DCM_NumberOfFrames) : 1;
    CHECK(frames == s["frames"].get<long>());
    const long samples = f.integer(DCM_SamplesPerPixel);
    const long bytesPerSample = f.integer(DCM_BitsAllocated) / 8;
    const auto pixels = nativePixelData(plain);
    CHECK(static_cast<long>(pixels.size()) >=
          s["rows"].get<long>() * s["columns"].get<long>() * frames * samples * bytesPerSample);
    CHECK(std::adjacent_find(pixels.begin(), pixels.end(), std::not_equal_to<>()) != pixels.end());
}

TEST_CASE("lossless syntaxes give back exactly the pixels of the uncompressed file") {
    const auto [ts, tool] = GENERATE(table<std::string, std::string>({
        {"jpeg-lossless", "dcmdjpeg"},
        {"jpeg-ls-lossless", "dcmdjpls"},
        {"rle", "dcmdrle"},
    }));
    CAPTURE(ts);
    requireTool(tool);
    TempDir dir("gen-study");
    const std::vector<std::string> series{"--seed",     "5",           "--series",
                                          "CT:2:40x48", "--series",    "US:1:32x32:2",
                                          "--series",   "NM:1:32x32:2"};
    auto withTs = series;
    withTs.insert(withTs.end(), {"--transfer-syntax", ts});
    const json plain = generate(dir / "plain", series);
    const json packed = generate(dir / "packed", withTs);
    for (const auto& s : packed["series"]) {
        for (const auto& inst : s["instances"]) {
            const std::string rel = inst["path"].get<std::string>();
            CAPTURE(rel);
            const fs::path out = dir / "decoded.dcm";
            REQUIRE(runProcess({tool, (dir / "packed" / rel).string(), out.string()}).exitCode ==
                    0);
            CHECK(nativePixelData(out) == nativePixelData(dir / "plain" / rel));
        }
    }
}

TEST_CASE("JPEG 2000 files hold one complete codestream per frame behind a Basic Offset Table") {
    const std::string ts = GENERATE(as<std::string>{}, "jpeg2000", "jpeg2000-lossless");
    CAPTURE(ts);
    TempDir dir("gen-study");
    const json m = generate(dir / "study", {"--transfer-syntax", ts, "--series", "XA:1:40x48:3",
                                            "--series", "US:1:40x48"});
    for (const auto& s : m["series"]) {
        const fs::path file = dir / "study" / s["instances"][0]["path"].get<std::string>();
        const auto frames = s["frames"].get<unsigned long>();
        DicomFile f(file);
        DcmElement* element = nullptr;
        REQUIRE(f.format().getDataset()->findAndGetElement(DCM_PixelData, element).good());
        auto* pixelData = static_cast<DcmPixelData*>(element);
        DcmPixelSequence* sequence = nullptr;
        const DcmXfer xfer(f.metaStr(DCM_TransferSyntaxUID).c_str());
        REQUIRE(pixelData->getEncapsulatedRepresentation(xfer.getXfer(), nullptr, sequence).good());
        REQUIRE(sequence != nullptr);
        REQUIRE(sequence->card() == frames + 1);

        DcmPixelItem* offsetTable = nullptr;
        REQUIRE(sequence->getItem(offsetTable, 0).good());
        CHECK(offsetTable->getLength() == 4 * frames);

        for (unsigned long i = 1; i <= frames; ++i) {
            DcmPixelItem* fragment = nullptr;
            REQUIRE(sequence->getItem(fragment, i).good());
            Uint8* data = nullptr;
            REQUIRE(fragment->getUint8Array(data).good());
            const std::vector<std::uint8_t> cs(data, data + fragment->getLength());
            REQUIRE(cs.size() > 50);
            CHECK(cs.size() % 2 == 0);
            CHECK((cs[0] == 0xFF && cs[1] == 0x4F && cs[2] == 0xFF && cs[3] == 0x51));  // SOC SIZ
            CHECK((cs[cs.size() - 2] == 0xFF && cs[cs.size() - 1] == 0xD9));            // EOC
            const auto be32 = [&](std::size_t at) {
                return (unsigned{cs[at]} << 24) | (unsigned{cs[at + 1]} << 16) |
                       (unsigned{cs[at + 2]} << 8) | cs[at + 3];
            };
            CHECK(be32(8) == s["columns"].get<unsigned>());  // Xsiz
            CHECK(be32(12) == s["rows"].get<unsigned>());    // Ysiz

            // Decodable by a real decoder (to flat grey) when OpenJPEG is installed.
            if (onPath("opj_decompress")) {
                const fs::path j2k = dir / "frame.j2k";
                std::ofstream(j2k, std::ios::binary)
                    .write(reinterpret_cast<const char*>(cs.data()),
                           static_cast<std::streamsize>(cs.size()));
                const fs::path decoded =
                    dir / (f.integer(DCM_SamplesPerPixel) == 3 ? "frame.ppm" : "frame.pgx");
                const ProcessResult r =
                    runProcess({"opj_decompress", "-i", j2k.string(), "-o", decoded.string()});
                INFO(r.out << r.err);
                CHECK(r.exitCode == 0);
            }
        }
    }
}

TEST_CASE("the SR holds a text report and the PDF document is a complete PDF") {
    TempDir dir("gen-study");
    const json m = generate(dir / "study", {"--series", "SR:1", "--series", "PDF:2"});
    const DicomFile sr(dir / "study" / "S1" / "I1.dcm");
    DcmItem* item = nullptr;
    REQUIRE(sr.format().getDataset()->findAndGetSequenceItem(DCM_ContentSequence, item, 0).good());
    OFString text;
    REQUIRE(item->findAndGetOFString(DCM_TextValue, text).good());
    CHECK_THAT(text.c_str(), Catch::Contains("Synthetic report"));

    const DicomFile pdf(dir / "study" / "S2" / "I2.dcm");
    CHECK(pdf.str(DCM_MIMETypeOfEncapsulatedDocument) == "application/pdf");
    const Uint8* bytes = nullptr;
    unsigned long length = 0;
    REQUIRE(pdf.format()
                .getDataset()
                ->findAndGetUint8Array(DCM_EncapsulatedDocument, bytes, &length)
                .good());
    const std::string doc(reinterpret_cast<const char*>(bytes), length);
    CHECK(doc.rfind("%PDF-1.4", 0) == 0);
    const auto documentLength =
        static_cast<std::size_t>(pdf.integer(DCM_EncapsulatedDocumentLength));
    CHECK((documentLength == length || documentLength + 1 == length));
    CHECK(doc.substr(0, documentLength).ends_with("%%EOF\n"));
}

TEST_CASE("pixel data is never blank and differs from slice to slice") {
    TempDir dir("gen-study");
    generate(dir / "study", {"--series", "CT:2:32x32", "--series", "US:1:32x32"});
    const auto first = nativePixelData(dir / "study" / "S1" / "I1.dcm");
    const auto second = nativePixelData(dir / "study" / "S1" / "I2.dcm");
    const auto colour = nativePixelData(dir / "study" / "S2" / "I1.dcm");
    for (const auto* p : {&first, &second, &colour}) {
        const auto [lo, hi] = std::minmax_element(p->begin(), p->end());
        CHECK(*hi - *lo > 16);
    }
    CHECK(first != second);
}
