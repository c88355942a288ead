// The ingest pipeline on a real SQLCipher state and blob store: what is
// committed, what is left behind, and what is audited for every outcome.
#include <catch2/catch.hpp>

#include "dicom_builder.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/ingest/pipeline.hpp"
#include "temp_dir.hpp"

using namespace sealport;
using ingest::StoreStatus;
using ingest::test::makePart10;
using ingest::test::ObjectSpec;

namespace {

struct Fixture {
    sealport::testing::TempDir dir{"sealport-pipeline"};
    core::SystemClock clock;
    core::KeyRing keys = core::deriveKeyRing(core::SecretBytes(std::vector<std::uint8_t>(32, 4)));
    state::State st{dir.path() / "state", keys, clock, 64};
    std::unique_ptr<state::Connection> conn = st.connect(clock);
    ingest::IngestPipeline pipeline{*conn, st.blobs(), clock, 64U << 20};
    const state::Actor actor{std::nullopt, std::nullopt, "ae:TEST"};

    std::size_t blobFiles() const {
        std::size_t n = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path() / "state" / "blobs"))
            if (e.is_regular_file()) ++n;
        return n;
    }
    std::vector<state::AuditRecord> audits() { return st.audit().tail(100); }
};

}  // namespace

TEST_CASE("a stored instance is in the catalogue and its blob decrypts to the exact bytes") {
    Fixture f;
    const auto bytes = makePart10();
    const auto r = f.pipeline.store(bytes, "dicom:TEST@127.0.0.1", f.actor);
    REQUIRE(r.status == StoreStatus::stored);
    CHECK(ingest::cstoreStatus(r.status) == 0x0000);
    const auto loc = f.st.catalogue().instance(r.sopInstanceUid);
    REQUIRE(loc);
    CHECK(loc->size == bytes.size());
    const auto blob = f.st.blobs().get(loc->blobId);
    REQUIRE(std::holds_alternative<core::Bytes>(blob));
    CHECK(std::get<core::Bytes>(blob) == bytes);
    CHECK(f.audits().empty());  // a normal store is not a per-instance audit event
}

TEST_CASE("malformed input is refused with 0xC000, audited, and leaves no blob or row") {
    Fixture f;
    auto bytes = makePart10();
    SECTION("truncated") { bytes.resize(bytes.size() / 2); }
    SECTION("not DICOM") { std::fill(bytes.begin() + 128, bytes.begin() + 132, std::uint8_t{'X'}); }
    SECTION("missing SOP Instance UID") {
        ObjectSpec spec;
        spec.sopInstanceUid.reset();
        bytes = makePart10(spec);
    }
    const auto r = f.pipeline.store(bytes, "import:uid:0", f.actor);
    CHECK(r.status == StoreStatus::rejected);
    CHECK(ingest::cstoreStatus(r.status) == 0xC000);
    CHECK(f.blobFiles() == 0);
    CHECK(f.st.catalogue().studyCount() == 0);
    const auto a = f.audits();
    REQUIRE(a.size() == 1);
    CHECK(a[0].action == "ingest.store");
    CHECK(a[0].outcome == state::Outcome::refused);
}

TEST_CASE("the same object twice is one instance, other bytes under its UID are a distinct, audited failure") {
    Fixture f;
    const auto first = makePart10();
    REQUIRE(f.pipeline.store(first, "s", f.actor).status == StoreStatus::stored);
    CHECK(f.pipeline.store(first, "s", f.actor).status == StoreStatus::duplicate);
    ObjectSpec changed;
    changed.studyDescription = "Altered";
    const auto r = f.pipeline.store(makePart10(changed), "s", f.actor);
    CHECK(r.status == StoreStatus::conflict);
    CHECK(ingest::cstoreStatus(r.status) == 0xC011);
    CHECK(f.blobFiles() == 1);
    CHECK(f.st.catalogue().study(r.studyUid)->study.description == "CT Chest");
    const auto a = f.audits();
    REQUIRE(a.size() == 1);
    CHECK(nlohmann::json::parse(a[0].details).at("status") == "conflict");
}

TEST_CASE("a write failure at the blob seam answers out of resources and leaves nothing") {
    Fixture f;
    f.st.blobs().setWriteFunction([](int, const void*, std::size_t) -> long {
        errno = ENOSPC;
        return -1;
    });
    const auto r = f.pipeline.store(makePart10(), "s", f.actor);
    CHECK(r.status == StoreStatus::out_of_resources);
    CHECK(ingest::cstoreStatus(r.status) == 0xA700);
    CHECK(f.blobFiles() == 0);
    CHECK(f.st.catalogue().studyCount() == 0);
    CHECK(f.audits().size() == 1);
}

TEST_CASE("a catalogue commit that fails removes the blob it would have named") {
    Fixture f;
    // Another writer holds the database: the pipeline's commit times out.
    auto other = f.st.connect(f.clock);
    other->db.exec("BEGIN EXCLUSIVE");
    sqlite3_busy_timeout(f.conn->db.handle(), 50);
    const auto r = f.pipeline.store(makePart10(), "s", f.actor);
    other->db.exec("ROLLBACK");
    CHECK(r.status == StoreStatus::failed);
    CHECK(f.blobFiles() == 0);
    CHECK(f.st.catalogue().studyCount() == 0);
}
