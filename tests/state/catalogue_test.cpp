#include <catch2/catch.hpp>

#include "sealport/state/catalogue.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/state/state.hpp"
#include "temp_dir.hpp"

using namespace sealport;
using state::AddOutcome;
using state::CatalogueEntry;

namespace {

struct Fixture {
    testing::TempDir dir{"sealport-catalogue"};
    core::SystemClock clock;
    core::KeyRing keys = core::deriveKeyRing(core::SecretBytes(std::vector<std::uint8_t>(32, 2)));
    state::State st{dir.path() / "state", keys, clock, 64};
    state::Catalogue cat{st.db()};
};

CatalogueEntry entry(const std::string& study, const std::string& series, const std::string& sop,
                     std::uint8_t content = 1) {
    CatalogueEntry e;
    e.patientId = "P-0001";
    e.patientName = "Lefèvre^Amélie";
    e.birthDate = "19800214";
    e.sex = "F";
    e.studyUid = study;
    e.studyDate = "20261127";
    e.studyTime = "101500";
    e.studyDescription = "IRM genou droit";
    e.accessionNumber = "ACC-42";
    e.referringPhysician = "Dubois^Marc";
    e.seriesUid = series;
    e.seriesNumber = 3;
    e.modality = "MR";
    e.seriesDescription = "T1 sagittal";
    e.sopClassUid = "1.2.840.10008.5.1.4.1.1.4";
    e.sopInstanceUid = sop;
    e.instanceNumber = 1;
    e.transferSyntaxUid = "1.2.840.10008.1.2.1";
    e.size = 1000;
    e.sha256.fill(content);
    e.datasetSha256.fill(content);
    e.blobId = core::toHex(core::sha256(core::asBytes(sop + std::to_string(content)))).substr(0, 32);
    e.source = "dicom:MODALITY1@127.0.0.1";
    e.receivedAt = "2026-11-28T10:00:00.000Z";
    return e;
}

}  // namespace

TEST_CASE("an instance is catalogued once, a re-send of the same bytes is a duplicate, other bytes a conflict") {
    Fixture f;
    CHECK(f.cat.add(entry("1.2.3", "1.2.3.1", "1.2.3.1.1")) == AddOutcome::added);
    CHECK(f.cat.add(entry("1.2.3", "1.2.3.1", "1.2.3.1.1")) == AddOutcome::duplicate);
    auto other = entry("1.2.3", "1.2.3.1", "1.2.3.1.1", 9);
    CHECK(f.cat.add(other) == AddOutcome::conflict);
    // Nothing was overwritten.
    const auto loc = f.cat.instance("1.2.3.1.1");
    REQUIRE(loc);
    CHECK(loc->sha256[0] == 1);
    CHECK(f.cat.instancesOf("1.2.3").size() == 1);
}

TEST_CASE("a series UID that already belongs to another study is a conflict and changes nothing") {
    Fixture f;
    REQUIRE(f.cat.add(entry("1.2.3", "1.2.3.1", "1.2.3.1.1")) == AddOutcome::added);
    CHECK(f.cat.add(entry("1.2.4", "1.2.3.1", "1.2.4.1.1")) == AddOutcome::conflict);
    CHECK_FALSE(f.cat.study("1.2.4").has_value());
    CHECK(f.cat.studyCount() == 1);
}

TEST_CASE("study summaries count series, instances and bytes, and keep non-ASCII names intact") {
    Fixture f;
    REQUIRE(f.cat.add(entry("1.2.3", "1.2.3.1", "1.2.3.1.1")) == AddOutcome::added);
    REQUIRE(f.cat.add(entry("1.2.3", "1.2.3.1", "1.2.3.1.2")) == AddOutcome::added);
    auto ct = entry("1.2.3", "1.2.3.2", "1.2.3.2.1");
    ct.modality = "CT";
    ct.seriesNumber = 1;
    ct.size = 500;
    REQUIRE(f.cat.add(ct) == AddOutcome::added);
    auto otherPatient = entry("9.9", "9.9.1", "9.9.1.1");
    otherPatient.patientId = "P-0002";
    REQUIRE(f.cat.add(otherPatient) == AddOutcome::added);

    const auto all = f.cat.studies();
    REQUIRE(all.size() == 2);
    const auto mine = f.cat.studies(std::string("P-0001"));
    REQUIRE(mine.size() == 1);
    const auto& s = mine[0];
    CHECK(s.patientName == "Lefèvre^Amélie");
    CHECK(s.series == 2);
    CHECK(s.instances == 3);
    CHECK(s.bytes == 2500);
    CHECK(s.modalities == std::vector<std::string>{"CT", "MR"});

    const auto d = f.cat.study("1.2.3");
    REQUIRE(d);
    REQUIRE(d->series.size() == 2);
    CHECK(d->series[0].modality == "CT");  // ordered by series number
    CHECK(d->series[0].instances == 1);
    CHECK(d->series[1].instances == 2);
    CHECK(d->series[1].bytes == 2000);
    CHECK(f.cat.studies(std::string("nobody")).empty());
    CHECK_FALSE(f.cat.study("0.0").has_value());
}

TEST_CASE("the catalogue survives a reopen with the same key") {
    Fixture f;
    REQUIRE(f.cat.add(entry("1.2.3", "1.2.3.1", "1.2.3.1.1")) == AddOutcome::added);
    state::State reopened(f.dir.path() / "state", f.keys, f.clock, 64);
    state::Catalogue cat(reopened.db());
    const auto d = cat.study("1.2.3");
    REQUIRE(d);
    CHECK(d->study.description == "IRM genou droit");
    CHECK(d->study.referringPhysician == "Dubois^Marc");
}

TEST_CASE("reading a study takes no write lock: a writer on another connection is not held up") {
    Fixture f;
    REQUIRE(f.cat.add(entry("1.2.9", "1.2.9.1", "1.2.9.1.1")) == AddOutcome::added);
    auto other = f.st.connect(f.clock);
    // A read snapshot open on the main connection, as a landing page holds it while it renders.
    state::Database::ReadTransaction snapshot(f.st.db());
    REQUIRE(f.cat.study("1.2.9"));
    // Another connection writes meanwhile (with BEGIN IMMEDIATE here it would wait out the
    // busy timeout and fail with "database is locked").
    CHECK(other->catalogue.add(entry("1.2.9", "1.2.9.1", "1.2.9.1.2")) == AddOutcome::added);
    // The snapshot still sees what it saw.
    CHECK(f.cat.study("1.2.9")->study.instances == 1);
}
