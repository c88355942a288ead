// sealport-gen-study as tests and benchmarks use it: the manifest must be
// the truth about the files, field by field.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "gen_study_support.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace sealport::testing;
using nlohmann::json;

namespace {

struct Combination {
    std::string transferSyntax;
    std::string charset;
    std::vector<std::string> series;
};

// Every modality and every transfer syntax appears at least once.
const std::vector<Combination> kCombinations = {
    {"explicit", "ISO_IR_100", {"CT:3", "MR:2:32x32"}},
    {"implicit", "ISO_IR_192", {"CT:2:32x32", "SR:1"}},
    {"deflated", "none", {"SEG:1:32x32:3", "SR:1", "PDF:1"}},
    {"jpeg-baseline", "ISO_IR_192", {"US:2:32x48:3", "SC:1:32x32:4", "XA:1:32x32"}},
    {"jpeg-extended", "ISO_IR_100", {"CR:1:48x32", "DX:1:32x32", "MG:1:32x32"}},
    {"jpeg-lossless", "ISO_IR_100", {"XA:1:32x32:3", "RF:1:32x32", "SR:1"}},
    {"jpeg-ls", "none", {"NM:1:32x32:2", "PT:2:32x32"}},
    {"jpeg-ls-lossless", "ISO_IR_192", {"MG:1:32x32", "US:1:32x32"}},
    {"jpeg2000", "ISO_IR_100", {"MR:1:32x32", "US:1:32x32:2"}},
    {"jpeg2000-lossless", "ISO_IR_192", {"CT:2:32x32", "US:1:32x32"}},
    {"rle", "ISO_IR_100", {"SC:2:40x30:2:16", "CT:2:32x32", "US:1:32x32:2"}},
};

std::vector<std::string> argsFor(const Combination& c, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--transfer-syntax", c.transferSyntax, "--charset", c.charset};
    for (const auto& s : c.series) {
        args.push_back("--series");
        args.push_back(s);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

std::vector<std::string> uidsOf(const json& manifest) {
    std::vector<std::string> uids{manifest["study"]["uid"].get<std::string>()};
    for (const auto& s : manifest["series"]) {
        uids.push_back(s["uid"].get<std::string>());
        for (const auto& i : s["instances"])
            uids.push_back(i["sop_instance_uid"].get<std::string>());
    }
    return uids;
}

}  // namespace

TEST_CASE("the manifest describes every file it wrote, field by field") {
    const Combination c = GENERATE(from_range(kCombinations));
    CAPTURE(c.transferSyntax, c.charset);
    TempDir dir("gen-study");
    const fs::path out = dir / "study";
    const json m =
        generate(out, argsFor(c, {"--seed", "7", "--study-description", "Thorax sans injection",
                                  "--referring", "Martin^Claire"}));

    REQUIRE(m["series"].size() == c.series.size());
    std::size_t files = 0;
    for (const auto& series : m["series"]) {
        for (const auto& inst : series["instances"]) {
            const fs::path path = out / inst["path"].get<std::string>();
            CAPTURE(path);
            REQUIRE(fs::is_regular_file(path));
            const auto bytes = readBytes(path);
            CHECK(bytes.size() == inst["size"].get<std::size_t>());
            CHECK(sha256Hex(bytes) == inst["sha256"].get<std::string>());

            const DicomFile f(path);
            CHECK(f.text(DCM_PatientName) == m["patient"]["name"].get<std::string>());
            CHECK(f.text(DCM_PatientID) == m["patient"]["id"].get<std::string>());
            CHECK(f.str(DCM_PatientBirthDate) == m["patient"]["birth_date"].get<std::string>());
            CHECK(f.str(DCM_PatientSex) == m["patient"]["sex"].get<std::string>());
            const std::string charset = m["patient"]["charset"].get<std::string>();
            CHECK(f.str(DCM_SpecificCharacterSet) == (charset.empty() ? "<absent>" : charset));

            CHECK(f.str(DCM_StudyInstanceUID) == m["study"]["uid"].get<std::string>());
            CHECK(f.str(DCM_StudyID) == m["study"]["id"].get<std::string>());
            CHECK(f.str(DCM_StudyDate) == m["study"]["date"].get<std::string>());
            CHECK(f.str(DCM_StudyTime) == m["study"]["time"].get<std::string>());
            CHECK(f.text(DCM_StudyDescription) == m["study"]["description"].get<std::string>());
            CHECK(f.text(DCM_AccessionNumber) == m["study"]["accession"].get<std::string>());
            CHECK(f.text(DCM_ReferringPhysicianName) == m["study"]["referring"].get<std::string>());

            CHECK(f.str(DCM_SeriesInstanceUID) == series["uid"].get<std::string>());
            CHECK(f.integer(DCM_SeriesNumber) == series["number"].get<long>());
            CHECK(f.str(DCM_Modality) == series["modality"].get<std::string>());
            CHECK(f.text(DCM_SeriesDescription) == series["description"].get<std::string>());

            CHECK(f.str(DCM_SOPClassUID) == inst["sop_class_uid"].get<std::string>());
            CHECK(f.metaStr(DCM_MediaStorageSOPClassUID) ==
                  inst["sop_class_uid"].get<std::string>());
            CHECK(f.str(DCM_SOPInstanceUID) == inst["sop_instance_uid"].get<std::string>());
            CHECK(f.metaStr(DCM_MediaStorageSOPInstanceUID) ==
                  inst["sop_instance_uid"].get<std::string>());
            CHECK(f.integer(DCM_InstanceNumber) == inst["instance_number"].get<long>());
            CHECK(f.metaStr(DCM_TransferSyntaxUID) ==
                  inst["transfer_syntax_uid"].get<std::string>());

            if (series.contains("rows")) {
                CHECK(f.integer(DCM_Rows) == series["rows"].get<long>());
                CHECK(f.integer(DCM_Columns) == series["columns"].get<long>());
                CHECK(f.has(DCM_PixelData));
                const long frames = f.has(DCM_NumberOfFrames) ? f.integer(DCM_NumberOfFrames) : 1;
                CHECK(frames == series["frames"].get<long>());
            }
            ++files;
        }
    }
    // Nothing on disk that the manifest does not list.
    std::size_t onDisk = 0;
    for (const auto& e : fs::recursive_directory_iterator(out))
        onDisk += e.is_regular_file() ? 1u : 0u;
    CHECK(onDisk == files);
}

TEST_CASE(
    "with no options it writes ten 64x64 CT images of an accented French patient in ISO_IR 100") {
    TempDir dir("gen-study");
    const json m = generate(dir / "study", {});
    CHECK(m["patient"]["name"] == "Lefèvre^Amélie");
    CHECK(m["patient"]["charset"] == "ISO_IR 100");
    REQUIRE(m["series"].size() == 1);
    const json& s = m["series"][0];
    CHECK(s["modality"] == "CT");
    CHECK(s["sop_class_uid"] == "1.2.840.10008.5.1.4.1.1.2");
    CHECK(s["rows"] == 64);
    CHECK(s["columns"] == 64);
    CHECK(s["bits_allocated"] == 16);
    CHECK(s["instances"].size() == 10);
    CHECK(s["instances"][0]["transfer_syntax_uid"] == "1.2.840.10008.1.2.1");
    CHECK(s["instances"][9]["path"] == "S1/I10.dcm");
}

TEST_CASE(
    "ISO_IR 100 files hold the Latin-1 bytes of the name and ISO_IR 192 files its UTF-8 bytes") {
    TempDir dir("gen-study");
    const std::string latin1 = "Lef\xE8vre^Am\xE9lie";
    const std::string utf8 = "Lef\xC3\xA8vre^Am\xC3\xA9lie";

    const json m100 = generate(dir / "latin1", {"--charset", "ISO_IR_100", "--series", "CT:1"});
    const auto b100 = readBytes(dir / "latin1" / "S1" / "I1.dcm");
    CHECK(contains(b100, latin1));
    CHECK_FALSE(contains(b100, utf8));
    CHECK(contains(b100, "ISO_IR 100"));
    CHECK(m100["patient"]["name"] == utf8);

    const json m192 = generate(dir / "utf8", {"--charset", "ISO_IR_192", "--series", "CT:1"});
    const auto b192 = readBytes(dir / "utf8" / "S1" / "I1.dcm");
    CHECK(contains(b192, utf8));
    CHECK_FALSE(contains(b192, latin1));
    CHECK(contains(b192, "ISO_IR 192"));
    CHECK(m192["patient"]["name"] == utf8);

    // A name given on the command line, with characters from all of Latin-1.
    generate(dir / "given", {"--patient-name", "Ørsted^Zoë=", "--series", "SR:1"});
    CHECK(contains(readBytes(dir / "given" / "S1" / "I1.dcm"), "\xD8rsted^Zo\xEB="));

    // none: the ASCII spelling, and no Specific Character Set at all.
    const json mNone = generate(dir / "ascii", {"--charset", "none", "--series", "CT:1"});
    CHECK(mNone["patient"]["name"] == "Lefevre^Amelie");
    CHECK(mNone["patient"]["charset"] == "");
    const DicomFile f(dir / "ascii" / "S1" / "I1.dcm");
    CHECK_FALSE(f.has(DCM_SpecificCharacterSet));
    CHECK(f.str(DCM_PatientName) == "Lefevre^Amelie");
}

TEST_CASE("text a character set cannot hold is refused with exit 64 and nothing written") {
    TempDir dir("gen-study");
    const auto [charset, option, value] = GENERATE(table<std::string, std::string, std::string>({
        {"none", "--patient-name", "Lefèvre^Amélie"},
        {"none", "--study-description", "Scanner thoracique sans contraste – contrôle"},
        {"ISO_IR_100", "--patient-name", "Łukasiewicz^Jan"},
        {"ISO_IR_100", "--referring", "Nguyễn^An"},
        {"ISO_IR_192", "--patient-name", "bad\xC3(utf8"},
    }));
    CAPTURE(charset, option, value);
    const ProcessResult r = runGenStudy(dir / "study", {"--charset", charset, option, value});
    CHECK(r.exitCode == 64);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains(option));
    CHECK_FALSE(fs::exists(dir / "study"));
}

TEST_CASE("the same seed gives byte-identical files and another seed other UIDs") {
    TempDir dir("gen-study");
    const std::vector<std::string> args{"--series", "CT:3:32x32",    "--series", "US:1:32x32:2",
                                        "--series", "SEG:1:32x32:2", "--series", "SR:1",
                                        "--series", "PDF:1"};
    auto withSeed = [&](const std::string& seed, std::string ts) {
        auto a = args;
        a.insert(a.end(), {"--seed", seed, "--transfer-syntax", std::move(ts)});
        return a;
    };
    const std::string ts =
        GENERATE(as<std::string>{}, "explicit", "jpeg-extended", "jpeg-ls", "rle", "jpeg2000");
    CAPTURE(ts);
    json a = generate(dir / "a", withSeed("42", ts));
    json b = generate(dir / "b", withSeed("42", ts));
    json c = generate(dir / "c", withSeed("43", ts));

    for (const auto& series : a["series"]) {
        for (const auto& inst : series["instances"]) {
            const std::string rel = inst["path"].get<std::string>();
            CAPTURE(rel);
            CHECK(readBytes(dir / "a" / rel) == readBytes(dir / "b" / rel));
        }
    }
    a.erase("out");
    b.erase("out");
    CHECK(a == b);

    const auto uidsA = uidsOf(a);
    const auto uidsC = uidsOf(c);
    const std::set<std::string> setA(uidsA.begin(), uidsA.end());
    CHECK(setA.size() == uidsA.size());  // all distinct within a study
    for (const auto& uid : uidsC)
        CHECK(setA.count(uid) == 0);
    CHECK(a["patient"]["id"] != c["patient"]["id"]);
    CHECK(a["study"]["accession"] != c["study"]["accession"]);
}

TEST_CASE("bad arguments exit 64 with a message and write nothing") {
    TempDir dir("gen-study");
    const std::vector<std::string> args = GENERATE(values<std::vector<std::string>>({
        {"--bogus"},
        {"--series"},
        {"--series", "XX:3"},
        {"--series", "CT:0"},
        {"--series", "CT:3:64"},
        {"--series", "CT:3:0x64"},
        {"--series", "CT:3:64x64:2"},
        {"--series", "SR:1:64x64"},
        {"--series", "CT:1:64x64:1:16"},
        {"--series", "SC:1:64x64:1:12"},
        {"--transfer-syntax", "jpeg-baseline"},
        {"--transfer-syntax", "jpeg-extended", "--series", "PT:1"},
        {"--transfer-syntax", "jpeg-xl"},
        {"--charset", "latin1"},
        {"--seed", "-1"},
        {"--seed", "18446744073709551616"},
        {"--sex", "X"},
        {"--birth-date", "19991332"},
        {"--study-date", "20230229"},
        {"--study-time", "246000"},
        {"--study-uid", "1.2.03"},
        {"--study-uid", "2.25.x"},
        {"--accession", "ABCDEFGHIJKLMNOPQ"},
        {"--patient-id", ""},
        {"--patient-name", "A\\B"},
        {"--seed", "1", "--seed", "2"},
    }));
    CAPTURE(args);
    const ProcessResult r = runGenStudy(dir / "study", args);
    CHECK(r.exitCode == 64);
    CHECK(r.out.empty());
    CHECK_FALSE(r.err.empty());
    CHECK_FALSE(fs::exists(dir / "study"));
}

TEST_CASE("an output directory is required, and one that is not empty is refused") {
    TempDir dir("gen-study");
    const ProcessResult noOut = runProcess({genStudyBinary().string(), "--series", "CT:1"});
    CHECK(noOut.exitCode == 64);
    CHECK_THAT(noOut.err, Catch::Contains("--out"));

    generate(dir / "study", {"--series", "CT:1"});
    const ProcessResult again = runGenStudy(dir / "study", {"--series", "CT:1"});
    CHECK(again.exitCode == 64);
    CHECK_THAT(again.err, Catch::Contains("not empty"));

    // An empty existing directory is fine.
    fs::create_directory(dir / "empty");
    CHECK(runGenStudy(dir / "empty", {"--series", "CT:1"}).exitCode == 0);
}

TEST_CASE("a directory that cannot be created exits 1 and prints no manifest") {
    TempDir dir("gen-study");
    { std::ofstream(dir / "plain-file") << "x"; }
    const ProcessResult r = runGenStudy(dir / "plain-file" / "study", {"--series", "CT:1"});
    CHECK(r.exitCode == 1);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::Contains("cannot create"));
}

TEST_CASE("the help text describes the options and the JPEG 2000 caveat, and exits 0") {
    const ProcessResult r = runProcess({genStudyBinary().string(), "--help"});
    CHECK(r.exitCode == 0);
    for (const char* word : {"--out", "--series", "--transfer-syntax", "--charset", "--seed",
                             "flat grey", "jpeg-baseline"}) {
        CHECK_THAT(r.out, Catch::Contains(word));
    }
}

TEST_CASE("SR, PDF and SEG under a compressed syntax are written in Explicit VR with a note") {
    TempDir dir("gen-study");
    const json m = generate(
        dir / "study", {"--transfer-syntax", "jpeg-lossless", "--series", "CT:1:32x32", "--series",
                        "SR:1", "--series", "PDF:1", "--series", "SEG:1:32x32"});
    CHECK(m["series"][0]["instances"][0]["transfer_syntax_uid"] == "1.2.840.10008.1.2.4.70");
    for (std::size_t s = 1; s <= 3; ++s) {
        CHECK(m["series"][s]["instances"][0]["transfer_syntax_uid"] == "1.2.840.10008.1.2.1");
    }
    const ProcessResult r =
        runGenStudy(dir / "again", {"--transfer-syntax", "rle", "--series", "SR:1"});
    CHECK(r.exitCode == 0);
    CHECK_THAT(r.err, Catch::Contains("written as explicit"));
}
