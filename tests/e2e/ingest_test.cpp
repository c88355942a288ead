// End-to-end ingest: the real sealportd, studies synthesized by
// sealport-gen-study, sent by DCMTK's storescu over a real association on
// loopback and imported with sealportctl import.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/ingest/instance.hpp"
#include "sealport/state/state.hpp"

using namespace sealport;
using namespace sealport::e2e;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kConfig =
    "[dicom]\n"
    "listen = \"127.0.0.1:0\"\n"
    "ae_title = \"SEALPORT\"\n"
    "allowed_calling_aes = [\"MODALITY1\", \"PACS\"]\n"
    "[policy]\n"
    "incident_allowed_calling_aes = [\"MODALITY1\"]\n";

// storescu proposes the files' own transfer syntax only when told to (-x...);
// otherwise it would decompress them before sending.
ProgramResult storescu(std::uint16_t port, const std::string& callingAe, const std::filesystem::path& what,
                       const std::string& proposal = "-xe") {
    return runProgram({"/usr/bin/storescu", "-v", proposal, "-aet", callingAe, "-aec", "SEALPORT", "+sd", "+r",
                       "-nh", "127.0.0.1", std::to_string(port), what.string()},
                      {"TCP_NODELAY=1"}, 120s);
}

std::uint16_t dicomPort(const Daemon& d) {
    const json s = jsonOf(d.ctl({"status", "--json"}));
    REQUIRE(s.at("dicom_port").is_number());
    return s.at("dicom_port").get<std::uint16_t>();
}

core::Bytes readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return core::Bytes(std::istreambuf_iterator<char>(in), {});
}

// The appliance's own view of its state, opened with its key while it runs.
struct StateView {
    core::KeyRing keys;
    core::SystemClock clock;
    state::State st;
    explicit StateView(const Daemon& d)
        : keys(core::deriveKeyRing(core::readMasterKeyFile(d.keyFile(), 0))), st(d.stateDir(), keys, clock, 64) {}
};

ingest::InstanceFields fieldsOf(std::span<const std::uint8_t> bytes) {
    auto parsed = ingest::parseInstance(bytes, 1U << 30);
    REQUIRE(std::holds_alternative<ingest::InstanceFields>(parsed));
    return std::get<ingest::InstanceFields>(parsed);
}

}  // namespace

TEST_CASE("studies sent with storescu in several transfer syntaxes and character sets are catalogued and stored byte-exact") {
    Daemon d(kConfig);
    d.startAndWaitReady();
    const auto port = dicomPort(d);
    struct Case {
        std::string ts, proposal, charset, name;
    };
    const std::vector<Case> cases = {
        {"explicit", "-xe", "ISO_IR_100", "Lefèvre^Amélie"},
        {"implicit", "-xi", "ISO_IR_192", "Müller^Jürgen"},
        {"deflated", "-xd", "ISO_IR_100", "Ødegård^Åse"},
        {"jpeg-lossless", "-xs", "ISO_IR_192", "Łukasz^Żółw"},
        {"rle", "-xr", "ISO_IR_100", "Gérard^Noël"},
        {"jpeg-ls-lossless", "-xt", "ISO_IR_192", "Dvořák^Zdeněk"},
        {"jpeg2000-lossless", "-xv", "ISO_IR_100", "Çelik^Aylin"},
    };
    std::vector<json> manifests;
    int seed = 100;
    for (const auto& c : cases) {
        const auto dir = d.dir() / ("study-" + c.ts);
        const json m = generate(dir, {"--seed", std::to_string(seed++), "--transfer-syntax", c.ts, "--charset",
                                      c.charset, "--patient-name", c.name, "--series", "CT:3:32x32",
                                      "--series", "MR:2:32x32"});
        const auto r = storescu(port, "MODALITY1", dir, c.proposal);
        INFO(c.ts << ": " << r.err);
        REQUIRE(r.exitCode == 0);
        manifests.push_back(m);
    }

    const json studies = jsonOf(d.ctl({"studies", "--json"})).at("studies");
    REQUIRE(studies.size() == cases.size());
    StateView view(d);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const json& m = manifests[i];
        CAPTURE(cases[i].ts);
        const std::string uid = m.at("study").at("uid");
        const json detail = jsonOf(d.ctl({"study", uid, "--json"}));
        CHECK(detail.at("patient_name") == cases[i].name);
        CHECK(detail.at("patient_id") == m.at("patient").at("id"));
        CHECK(detail.at("birth_date") == m.at("patient").at("birth_date"));
        CHECK(detail.at("sex") == m.at("patient").at("sex"));
        CHECK(detail.at("description") == m.at("study").at("description"));
        CHECK(detail.at("accession_number") == m.at("study").at("accession"));
        CHECK(detail.at("referring_physician") == m.at("study").at("referring"));
        CHECK(detail.at("study_date") == m.at("study").at("date"));
        CHECK(detail.at("instances") == 5);
        CHECK(detail.at("modalities") == json::array({"CT", "MR"}));
        REQUIRE(detail.at("series_list").size() == 2);
        for (const auto& series : m.at("series")) {
            for (const auto& inst : series.at("instances")) {
                const auto loc = view.st.catalogue().instance(inst.at("sop_instance_uid"));
                REQUIRE(loc);
                CHECK(loc->seriesUid == series.at("uid"));
                CHECK(loc->sopClassUid == inst.at("sop_class_uid"));
                CHECK(loc->transferSyntaxUid == inst.at("transfer_syntax_uid"));
                // The blob decrypts to the object as received: the dataset bytes are
                // exactly the sent file's (the SCP writes its own File Meta header).
                auto blob = view.st.blobs().get(loc->blobId);
                REQUIRE(std::holds_alternative<core::Bytes>(blob));
                const auto& stored = std::get<core::Bytes>(blob);
                CHECK(core::sha256(stored) == loc->sha256);
                const auto sent = readFile(d.dir() / ("study-" + cases[i].ts) / inst.at("path").get<std::string>());
                const auto storedFields = fieldsOf(stored);
                const auto sentFields = fieldsOf(sent);
                if (cases[i].ts == "deflated") {
                    // storescu inflates the file and deflates it again to send it, so the
                    // wire bytes (what is stored) differ from the file's; the content agrees.
                    CHECK(storedFields.transferSyntaxUid == sentFields.transferSyntaxUid);
                    CHECK(storedFields.sopInstanceUid == sentFields.sopInstanceUid);
                    CHECK(storedFields.patientName == sentFields.patientName);
                } else {
                    CHECK(storedFields.datasetSha256 == sentFields.datasetSha256);
                }
                // The digests taken while the object arrived equal those of a pass over the stored bytes.
                CHECK(view.st.catalogue().datasetDigestOf(inst.at("sop_instance_uid")) == storedFields.datasetSha256);
            }
        }
    }
    CHECK(jsonOf(d.ctl({"status", "--json"})).at("studies") == cases.size());
    CHECK(d.terminate() == 0);
}

TEST_CASE("the stored blobs hold no patient name or UID in plaintext") {
    Daemon d(kConfig);
    d.startAndWaitReady();
    const auto dir = d.dir() / "study";
    const json m = generate(dir, {"--seed", "7", "--charset", "ISO_IR_192", "--patient-name", "Canary^Plaintext",
                                  "--series", "CT:4:32x32", "--transfer-syntax", "explicit"});
    REQUIRE(storescu(dicomPort(d), "MODALITY1", dir).exitCode == 0);
    CHECK(d.terminate() == 0);
    const std::vector<std::string> needles = {"Canary^Plaintext", m.at("study").at("uid").get<std::string>(),
                                              m.at("patient").at("id").get<std::string>()};
    std::size_t files = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(d.stateDir())) {
        if (!e.is_regular_file()) continue;
        ++files;
        const auto raw = readFile(e.path());
        for (const auto& n : needles) {
            CAPTURE(e.path().string(), n);
            CHECK(std::search(raw.begin(), raw.end(), n.begin(), n.end()) == raw.end());
        }
    }
    CHECK(files >= 5);  // the database and four blobs at least
    // The needles are in the sent files, so the search can fail.
    const auto sent = readFile(dir / m.at("series")[0].at("instances")[0].at("path").get<std::string>());
    CHECK(std::search(sent.begin(), sent.end(), needles[1].begin(), needles[1].end()) != sent.end());
}

TEST_CASE("a calling AE not allowed in the current mode is refused at association, and audited") {
    Daemon d(kConfig);
    d.startAndWaitReady();
    const auto dir = d.dir() / "study";
    generate(dir, {"--seed", "8", "--series", "CT:2:32x32"});
    const auto port = dicomPort(d);

    const auto stranger = storescu(port, "LAPTOP", dir);
    CHECK(stranger.exitCode != 0);
    CHECK_THAT(stranger.err, Catch::Contains("Calling AE Title Not Recognized") || Catch::Contains("Rejected"));
    auto refusals = d.auditEntries("dicom.association");
    REQUIRE_FALSE(refusals.empty());
    CHECK(refusals.back().at("outcome") == "refused");
    CHECK(refusals.back().at("subject") == "LAPTOP");
    CHECK(refusals.back().at("details").at("rule") == "ingest.calling-ae");
    CHECK(jsonOf(d.ctl({"studies", "--json"})).at("studies").empty());

    // In incident mode only the incident list applies: PACS is refused, MODALITY1 accepted.
    REQUIRE(d.ctl({"incident", "enter", "--reason", "test"}).exitCode == 0);
    CHECK(storescu(port, "PACS", dir).exitCode != 0);
    CHECK(storescu(port, "MODALITY1", dir).exitCode == 0);
    CHECK(jsonOf(d.ctl({"studies", "--json"})).at("studies").size() == 1);
    CHECK(d.terminate() == 0);
}

TEST_CASE("the same instance again is a success without a duplicate, other bytes under its UID are refused") {
    Daemon d(kConfig);
    d.startAndWaitReady();
    const auto port = dicomPort(d);
    const auto a = d.dir() / "a";
    const auto b = d.dir() / "b";
    // The same seed and UIDs, a different description: same SOP Instance UIDs, other bytes.
    const json ma = generate(a, {"--seed", "9", "--series", "CT:2:32x32"});
    generate(b, {"--seed", "9", "--series", "CT:2:32x32", "--study-description", "Altered"});
    REQUIRE(storescu(port, "MODALITY1", a).exitCode == 0);
    REQUIRE(storescu(port, "MODALITY1", a).exitCode == 0);  // the re-send
    const json before = jsonOf(d.ctl({"studies", "--json"})).at("studies");
    REQUIRE(before.size() == 1);
    CHECK(before[0].at("instances") == 2);

    const auto conflict = storescu(port, "MODALITY1", b);
    CHECK_THAT(conflict.err, Catch::Contains("Received Store Response (Error: CannotUnderstand)"));
    const json after = jsonOf(d.ctl({"studies", "--json"})).at("studies");
    REQUIRE(after.size() == 1);
    CHECK(after[0].at("description") == ma.at("study").at("description"));
    CHECK(after[0].at("instances") == 2);
    const auto conflicts = d.auditEntries("ingest.store");
    REQUIRE(conflicts.size() == 2);
    CHECK(conflicts[0].at("details").at("status") == "conflict");
    CHECK(conflicts[0].at("details").at("dimse_status") == 0xC011);  // distinct from malformed (0xC000)
    CHECK(conflicts[0].at("outcome") == "refused");
    // No stray blobs: two instances, two blobs.
    std::size_t blobs = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(d.stateDir() / "blobs"))
        if (e.is_regular_file()) ++blobs;
    CHECK(blobs == 2);
    CHECK(d.terminate() == 0);
}

TEST_CASE("a full disk answers 0xA700, leaves no partial blob or row, and the daemon keeps serving") {
    REQUIRE(::geteuid() == 0);  // mounting a small tmpfs needs root; the suite runs as root
    Daemon d(kConfig);
    // The state directory on a small file system: 4 MiB holds the database and a few images.
    std::filesystem::create_directories(d.stateDir());
    REQUIRE(::mount("tmpfs", d.stateDir().c_str(), "tmpfs", 0, "size=4m,mode=0700") == 0);
    struct Unmount {
        std::filesystem::path p;
        ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } unmount{d.stateDir()};
    REQUIRE(runProgram({binary("sealportd").string(), "--config", d.configFile().string(), "--init"}).exitCode == 0);
    d.startAndWaitReady();
    const auto port = dicomPort(d);
    const auto big = d.dir() / "big";
    generate(big, {"--seed", "10", "--series", "CT:40:256x256"});  // ~5 MiB
    const auto r = storescu(port, "MODALITY1", big);
    CHECK_THAT(r.err, Catch::Contains("Refused: OutOfResources"));
    const auto full = d.auditEntries("ingest.store");
    REQUIRE_FALSE(full.empty());
    CHECK(full.back().at("details").at("dimse_status") == 0xA700);
    // Every catalogued instance has its blob, and no blob or temp file is unaccounted for.
    StateView view(d);
    std::size_t blobs = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(d.stateDir() / "blobs"))
        if (e.is_regular_file()) ++blobs;
    const json studies = jsonOf(d.ctl({"studies", "--json"})).at("studies");
    const std::int64_t instances = studies.empty() ? 0 : studies[0].at("instances").get<std::int64_t>();
    CHECK(static_cast<std::int64_t>(blobs) == instances);
    CHECK(instances < 40);
    // Still serving.
    CHECK(d.ctl({"status"}).exitCode == 0);
    CHECK(d.terminate() == 0);
}

TEST_CASE("an object over max_object_mib is refused with 0xC000 and not kept, the rest of the association is stored") {
    std::string config = kConfig;
    config.insert(config.find("[policy]"), "max_object_mib = 1\n");
    Daemon d(config);
    d.startAndWaitReady();
    const auto port = dicomPort(d);
    const auto study = d.dir() / "study";
    // One 2 MiB image (over the limit) among three small ones, sent in one association.
    const json m = generate(study, {"--seed", "21", "--series", "CT:1:1024x1024", "--series", "MR:3:64x64"});
    const auto r = storescu(port, "MODALITY1", study);
    CHECK_THAT(r.err, Catch::Contains("Error: CannotUnderstand"));
    const json studies = jsonOf(d.ctl({"studies", "--json"})).at("studies");
    REQUIRE(studies.size() == 1);
    CHECK(studies[0].at("instances") == 3);
    const auto refused = d.auditEntries("ingest.store");
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].at("outcome") == "refused");
    CHECK(refused[0].at("details").at("dimse_status") == 0xC000);
    CHECK_THAT(refused[0].at("details").at("detail").get<std::string>(), Catch::StartsWith("too_large"));
    std::size_t blobs = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(d.stateDir() / "blobs"))
        if (e.is_regular_file()) ++blobs;
    CHECK(blobs == 3);  // no blob, and no temporary file, for the refused object
    CHECK(d.terminate() == 0);
}

TEST_CASE("sealportctl import stores DICOM files, skips a DICOMDIR and rejects what is not DICOM") {
    Daemon d(kConfig);
    d.startAndWaitReady();
    const auto dir = d.dir() / "import";
    generate(dir, {"--seed", "11", "--series", "CT:3:32x32", "--series", "SR:1"});
    // A DICOMDIR (made with DCMTK's dump2dcm) and some junk.
    std::ofstream(d.dir() / "dicomdir.dump")
        << "(0004,1130) CS [SEALPORT]\n(0004,1212) US 0\n"
        << "(0008,0016) UI [1.2.840.10008.1.3.10]\n(0008,0018) UI [1.2.826.0.1.3680043.9.7433.1.1]\n";
    REQUIRE(runProgram({"/usr/bin/dump2dcm", "+te", (d.dir() / "dicomdir.dump").string(), (dir / "DICOMDIR").string()})
                .exitCode == 0);
    std::ofstream(dir / "notes.txt") << "not an image";
    std::ofstream(dir / "truncated.dcm") << std::string(128, '\0') << "DICM" << std::string(10, 'x');
    REQUIRE(::chmod(d.dir().c_str(), 0755) == 0);
    REQUIRE(::chmod(dir.c_str(), 0755) == 0);

    const json r = jsonOf(d.ctl({"import", dir.string(), "--json"}));
    CHECK(r.at("imported") == 4);
    CHECK(r.at("duplicates") == 0);
    REQUIRE(r.at("rejected").size() == 3);
    bool dicomdirSkipped = false;
    for (const auto& rej : r.at("rejected")) {
        CHECK_FALSE(rej.at("reason").get<std::string>().empty());
        if (rej.at("path").get<std::string>().ends_with("DICOMDIR"))
            dicomdirSkipped = rej.at("reason").get<std::string>().find("DICOMDIR") != std::string::npos;
    }
    CHECK(dicomdirSkipped);

    const json again = jsonOf(d.ctl({"import", dir.string(), "--json"}));
    CHECK(again.at("imported") == 0);
    CHECK(again.at("duplicates") == 4);

    const auto human = d.ctl({"import", (dir / "notes.txt").string()});
    CHECK(human.exitCode == 0);
    CHECK_THAT(human.out, Catch::Contains("rejected"));

    // The appliance's own state cannot be fed back to it.
    const json self = jsonOf(d.ctl({"import", d.stateDir().string(), "--json"}));
    CHECK(self.at("imported") == 0);

    // Closed in incident mode.
    REQUIRE(d.ctl({"incident", "enter", "--reason", "test"}).exitCode == 0);
    const auto refused = d.ctl({"import", dir.string()});
    CHECK(refused.exitCode == 2);
    CHECK_THAT(refused.err, Catch::Contains("import.incident"));
    CHECK(d.terminate() == 0);
}

TEST_CASE("C-ECHO is answered") {
    Daemon d(kConfig);
    d.startAndWaitReady();
    const auto r = runProgram({"/usr/bin/echoscu", "-aet", "MODALITY1", "-aec", "SEALPORT", "127.0.0.1",
                               std::to_string(dicomPort(d))},
                              {"TCP_NODELAY=1"});
    CHECK(r.exitCode == 0);
    CHECK(d.terminate() == 0);
}

TEST_CASE("eight associations at once are all stored, and the audit chain stays one verifiable chain") {
    Daemon d(kConfig);
    d.startAndWaitReady();
    const auto port = dicomPort(d);
    constexpr int kSenders = 8;
    for (int i = 0; i < kSenders; ++i)
        generate(d.dir() / ("s" + std::to_string(i)), {"--seed", std::to_string(200 + i), "--series", "CT:6:64x64"});
    std::vector<std::thread> threads;
    std::vector<int> codes(kSenders, -1);
    for (int i = 0; i < kSenders; ++i)
        threads.emplace_back([&, i] { codes[static_cast<std::size_t>(i)] = storescu(port, "MODALITY1", d.dir() / ("s" + std::to_string(i))).exitCode; });
    for (auto& t : threads) t.join();
    for (int c : codes) CHECK(c == 0);
    const json studies = jsonOf(d.ctl({"studies", "--json"})).at("studies");
    CHECK(studies.size() == kSenders);
    for (const auto& s : studies) CHECK(s.at("instances") == 6);
    CHECK(d.auditEntries("dicom.association").size() == kSenders);
    const json v = jsonOf(d.ctl({"audit", "verify", "--json"}));
    CHECK(v.at("ok") == true);
    CHECK(v.at("entries").get<int>() >= kSenders + 3);
    CHECK(d.terminate() == 0);
}

TEST_CASE("an SCU offering lossy JPEG next to uncompressed syntaxes is not invited to compress an original") {
    Daemon d(kConfig);
    d.startAndWaitReady();
    const auto dir = d.dir() / "sc";
    const json m = generate(dir, {"--seed", "12", "--series", "SC:2:64x64", "--transfer-syntax", "explicit"});
    // -xy: storescu proposes JPEG baseline first, then the uncompressed syntaxes.
    const auto r = storescu(dicomPort(d), "MODALITY1", dir, "-xy");
    REQUIRE(r.exitCode == 0);
    CHECK_THAT(r.err, !Catch::Contains("-> JPEG Baseline"));
    StateView view(d);
    for (const auto& inst : m.at("series")[0].at("instances")) {
        const auto loc = view.st.catalogue().instance(inst.at("sop_instance_uid"));
        REQUIRE(loc);
        CHECK(loc->transferSyntaxUid == "1.2.840.10008.1.2.1");
    }
    CHECK(d.terminate() == 0);
}

TEST_CASE("a peer that connects and says nothing does not hold up other senders for long") {
    Daemon d(kConfig);
    d.startAndWaitReady();
    const auto port = dicomPort(d);
    const auto dir = d.dir() / "study";
    generate(dir, {"--seed", "13", "--series", "CT:2:32x32"});
    // A bare TCP connection, no A-ASSOCIATE-RQ.
    const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(storescu(port, "MODALITY1", dir).exitCode == 0);
    const auto waited = std::chrono::steady_clock::now() - t0;
    ::close(idle);
    CHECK(waited < 10s);  // bounded by the 5 s request-read timeout, not the 30 s ACSE timeout
    CHECK(d.terminate() == 0);
}
