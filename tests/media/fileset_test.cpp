// The file-set planner on a real catalogue: names, order, grouping.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcddirif.h>

#include <algorithm>
#include <set>

#include "media_test_support.hpp"

using namespace sealport;
using mediatest::Fixture;

namespace {

struct Obj {
    std::string patientId;
    std::string study, series;
    std::optional<std::string> seriesNumber;
    std::string sop;
    std::optional<std::string> instanceNumber;
};

void store(Fixture& f, const Obj& o) {
    ingest::test::ObjectSpec spec;
    spec.patientId = o.patientId;
    spec.studyUid = o.study;
    spec.seriesUid = o.series;
    spec.seriesNumber = o.seriesNumber;
    spec.sopInstanceUid = o.sop;
    spec.instanceNumber = o.instanceNumber;
    f.store(ingest::test::makePart10(spec));
}

std::map<std::string, std::string> pathBySop(const std::vector<media::PlacedInstance>& plan) {
    std::map<std::string, std::string> out;
    for (const auto& p : plan)
        out[p.instance.sopInstanceUid] = p.path;
    return out;
}

}  // namespace

TEST_CASE("file IDs are valid exactly when DCMTK's own check says so") {
    DicomDirInterface dcmtk;
    const char* names[] = {"DICOM/P0000001/S0000001/S0000001/I0000001",
                           "A/B/C/D/E/F/G/H",
                           "A/B/C/D/E/F/G/H/I",
                           "DICOM/p0000001",
                           "DICOM/ABCDEFGHI",
                           "DICOM/ABCDEFGH",
                           "DICOM/A-1",
                           "DICOM/A.DCM",
                           "README.TXT",
                           "DICOMDIR",
                           "DICOM/A_1",
                           "/DICOM/A"};
    for (const char* name : names) {
        CAPTURE(name);
        CHECK(media::isValidFileId(name) == (dcmtk.isFilenameValid(name) != OFFalse));
    }
    // DCMTK lets empty components through; PS3.10 8.2 wants 1 to 8 characters each.
    CHECK_FALSE(media::isValidFileId(""));
    CHECK_FALSE(media::isValidFileId("DICOM//A"));
    CHECK_FALSE(media::isValidFileId("DICOM/A/"));
    CHECK_FALSE(media::isValidFileId("DICOM/\xC3\x89"));
}

TEST_CASE("a plan groups studies by patient in order of first appearance and numbers every level") {
    Fixture f;
    // Patient PID-1: study 1.1 with four series in a scrambled order, study 1.3 later.
    store(f, {"PID-1", "2.25.11", "2.25.20", "2", "2.25.201", "1"});
    store(f, {"PID-1", "2.25.11", "2.25.30", "1", "2.25.302", "10"});
    store(f, {"PID-1", "2.25.11", "2.25.30", "1", "2.25.303", std::nullopt});
    store(f, {"PID-1", "2.25.11", "2.25.30", "1", "2.25.305", "2"});
    store(f, {"PID-1", "2.25.11", "2.25.30", "1", "2.25.304", "2"});
    store(f, {"PID-1", "2.25.11", "2.25.10", std::nullopt, "2.25.101", "1"});
    store(f, {"PID-1", "2.25.11", "2.25.25", "1", "2.25.251", "1"});
    store(f, {"PID-1", "2.25.13", "2.25.40", "1", "2.25.401", "1"});
    // Patient PID-2, and two studies without a patient ID.
    store(f, {"PID-2", "2.25.12", "2.25.50", "1", "2.25.501", "1"});
    store(f, {"", "2.25.14", "2.25.60", "1", "2.25.601", "1"});
    store(f, {"", "2.25.15", "2.25.70", "1", "2.25.701", "1"});

    const auto plan = f.plan({"2.25.12", "2.25.11", "2.25.14", "2.25.13", "2.25.15"});
    REQUIRE(plan.size() == 11);
    const auto at = pathBySop(plan);
    // PID-2 asked first: P1. PID-1: P2 with its studies in the order asked.
    CHECK(at.at("2.25.501") == "DICOM/P0000001/S0000001/S0000001/I0000001");
    // Series: number 1 (UID 2.25.25 before 2.25.30), then 2, then the unnumbered one.
    CHECK(at.at("2.25.251") == "DICOM/P0000002/S0000001/S0000001/I0000001");
    // Instances: 2 (UID ...304 before ...305), 10, then the unnumbered one.
    CHECK(at.at("2.25.304") == "DICOM/P0000002/S0000001/S0000002/I0000001");
    CHECK(at.at("2.25.305") == "DICOM/P0000002/S0000001/S0000002/I0000002");
    CHECK(at.at("2.25.302") == "DICOM/P0000002/S0000001/S0000002/I0000003");
    CHECK(at.at("2.25.303") == "DICOM/P0000002/S0000001/S0000002/I0000004");
    CHECK(at.at("2.25.201") == "DICOM/P0000002/S0000001/S0000003/I0000001");
    CHECK(at.at("2.25.101") == "DICOM/P0000002/S0000001/S0000004/I0000001");
    CHECK(at.at("2.25.401") == "DICOM/P0000002/S0000002/S0000001/I0000001");
    // No patient ID: a patient each, never merged.
    CHECK(at.at("2.25.601") == "DICOM/P0000003/S0000001/S0000001/I0000001");
    CHECK(at.at("2.25.701") == "DICOM/P0000004/S0000001/S0000001/I0000001");

    // The plan is in path order, which is the order the DICOMDIR lists them in.
    CHECK(std::is_sorted(plan.begin(), plan.end(),
                         [](const media::PlacedInstance& a, const media::PlacedInstance& b) {
                             return a.path < b.path;
                         }));
    DicomDirInterface dcmtk;
    for (const auto& p : plan) {
        CAPTURE(p.path);
        CHECK(media::isValidFileId(p.path));
        CHECK(dcmtk.isFilenameValid(p.path.c_str()));
        CHECK_FALSE(p.instance.blobId.empty());
    }
}

TEST_CASE("instance counters run past nine with seven digits") {
    Fixture f;
    for (int i = 1; i <= 12; ++i)
        store(f, {"PID-1", "2.25.11", "2.25.20", "1", "2.25.20" + std::to_string(i),
                  std::to_string(i)});
    const auto plan = f.plan({"2.25.11"});
    REQUIRE(plan.size() == 12);
    CHECK(plan[9].path == "DICOM/P0000001/S0000001/S0000001/I0000010");
    CHECK(plan[11].path == "DICOM/P0000001/S0000001/S0000001/I0000012");
    CHECK(plan[11].instance.sopInstanceUid == "2.25.2012");
}

TEST_CASE("a study listed twice is planned once") {
    Fixture f;
    store(f, {"PID-1", "2.25.11", "2.25.20", "1", "2.25.201", "1"});
    const auto plan = f.plan({"2.25.11", "2.25.11"});
    REQUIRE(plan.size() == 1);
    CHECK(plan[0].path == "DICOM/P0000001/S0000001/S0000001/I0000001");
}

TEST_CASE("a study the catalogue does not hold is refused with invalid_argument") {
    Fixture f;
    store(f, {"PID-1", "2.25.11", "2.25.20", "1", "2.25.201", "1"});
    CHECK_THROWS_AS(f.plan({"2.25.11", "2.25.99"}), std::invalid_argument);
    CHECK(f.plan({}).empty());
}
