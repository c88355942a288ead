// The link handlers as request -> response functions, without a socket: a
// real SQLCipher state and blob store, studies from sealport-gen-study
// ingested through the real pipeline, a virtual clock for expiry, and the real
// unzip, dcmdump and dciodvfy judging the downloads.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "run_process.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/core/token.hpp"
#include "sealport/ingest/pipeline.hpp"
#include "sealport/links/service.hpp"
#include "sealport/policy/decision.hpp"
#include "temp_dir.hpp"

using namespace sealport;
using nlohmann::json;
using links::HttpRequest;
using links::HttpResponse;

namespace {

std::vector<std::uint8_t> readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void writeFile(const std::filesystem::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::optional<std::string> headerOf(const HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
        if (k == name) return v;
    return std::nullopt;
}

struct Fixture {
    testing::TempDir dir{"sealport-links-service"};
    core::ManualClock clock{core::SystemTime{} + std::chrono::hours(24 * 365 * 56)};
    core::KeyRing keys = core::deriveKeyRing(core::SecretBytes(std::vector<std::uint8_t>(32, 9)));
    state::State st{dir.path() / "state", keys, clock, 64};
    core::ModeGate gate;
    policy::Settings policy;
    std::vector<std::string> failedLookups;
    std::unique_ptr<links::LinkService> svc;
    json manifest;
    std::vector<std::pair<std::string, std::filesystem::path>> sent;  // SOP UID, file

    explicit Fixture(std::vector<std::string> genArgs = {"--seed", "31", "--series", "CT:3:64x64", "--series",
                                                          "MR:2:64x64", "--charset", "ISO_IR_100"}) {
        gate.publish(policy::Mode::online);
        std::filesystem::create_directories(dir.path() / "scratch");
        std::filesystem::permissions(dir.path() / "scratch", std::filesystem::perms::owner_all);
        svc = std::make_unique<links::LinkService>(
            st, gate, policy, clock,
            links::LinkHooks{[this](const std::string& c, policy::TimePoint) { failedLookups.push_back(c); }},
            links::LinkServiceSettings{"https://images.example.org/", dir.path() / "scratch", "test"});
        std::vector<std::string> argv{SEALPORT_BIN_DIR "/sealport-gen-study", "--out", (dir.path() / "study").string()};
        argv.insert(argv.end(), genArgs.begin(), genArgs.end());
        const auto r = testing::runProcess(argv);
        REQUIRE(r.exitCode == 0);
        manifest = json::parse(r.out);
        auto conn = st.connect(clock);
        ingest::IngestPipeline pipeline(*conn, st.blobs(), clock, 64U << 20);
        for (const auto& series : manifest.at("series"))
            for (const auto& inst : series.at("instances")) {
                const auto path = dir.path() / "study" / inst.at("path").get<std::string>();
                const auto bytes = readFile(path);
                REQUIRE(pipeline.store(bytes, "import:test", state::Actor{0U, 0, "operator"}).status ==
                        ingest::StoreStatus::stored);
                sent.emplace_back(inst.at("sop_instance_uid").get<std::string>(), path);
            }
    }

    std::string studyUid() const { return manifest.at("study").at("uid").get<std::string>(); }

    links::IssuedLink issue(links::LinkRequest req = {}) {
        if (req.studyUids.empty()) req.studyUids = {studyUid()};
        auto r = svc->issue(links::StateAccess{st.db(), st.audit(), st.catalogue()}, req,
                            state::Actor{1000U, 1, "operator"}, policy::RoleSet{policy::Role::operator_}, 1000U,
                            "uid:1000", "local");
        if (auto* no = std::get_if<links::LinkRefusal>(&r)) FAIL("refused: " << no->message);
        return std::get<links::IssuedLink>(r);
    }

    static std::string tokenOf(const links::IssuedLink& l) { return l.url.substr(l.url.rfind('/') + 1); }

    HttpResponse request(std::string method, std::string target, std::string body = {},
                         std::vector<std::pair<std::string, std::string>> headers = {},
                         std::string remote = "192.0.2.10") {
        HttpRequest r;
        r.method = std::move(method);
        r.target = std::move(target);
        r.body = std::move(body);
        r.headers = std::move(headers);
        r.remoteAddress = std::move(remote);
        return svc->handle(r);
    }
    HttpResponse get(const std::string& target, std::string remote = "192.0.2.10") {
        return request("GET", target, {}, {}, std::move(remote));
    }

    struct Entry : state::AuditRecord {
        [[nodiscard]] json detailsJson() const { return json::parse(details); }
    };
    std::vector<Entry> audits(const std::string& action) {
        std::vector<Entry> out;
        for (auto& a : st.audit().tail(10000))
            if (a.action == action) out.push_back(Entry{a});
        return out;
    }
};

std::string drain(HttpResponse& r, std::size_t chunk = 64 * 1024) {
    REQUIRE(r.stream);
    std::string out;
    std::vector<std::uint8_t> buf(chunk);
    for (;;) {
        const auto n = r.stream->next(buf);
        if (n == 0) break;
        out.append(reinterpret_cast<const char*>(buf.data()), n);
    }
    return out;
}

}  // namespace

TEST_CASE("a link's landing page shows its study with every value escaped, and the headers a token URL needs") {
    Fixture f;
    const auto link = f.issue();
    CHECK(link.url.rfind("https://images.example.org/s/", 0) == 0);  // trailing slash of public_url dropped
    CHECK(core::isWellFormedToken(Fixture::tokenOf(link)));
    const auto r = f.get("/s/" + Fixture::tokenOf(link));
    REQUIRE(r.status == 200);
    const std::string name = f.manifest.at("patient").at("name").get<std::string>();  // UTF-8, accented
    const std::string family = name.substr(0, name.find('^'));
    CHECK(r.body.find(family) != std::string::npos);  // non-ASCII intact
    CHECK(r.body.find("5 images") != std::string::npos);
    CHECK(r.body.find(">CT<") != std::string::npos);
    CHECK(r.body.find(">MR<") != std::string::npos);
    CHECK(r.body.find("/s/" + Fixture::tokenOf(link) + "/download") != std::string::npos);
    CHECK(r.body.find("<script") == std::string::npos);
    CHECK(r.body.find("http://") == std::string::npos);  // self-contained: no external resource
    CHECK(headerOf(r, "Cache-Control") == "no-store");
    CHECK(headerOf(r, "Referrer-Policy") == "no-referrer");
    CHECK(headerOf(r, "X-Content-Type-Options") == "nosniff");
    CHECK(headerOf(r, "Strict-Transport-Security").has_value());
    const auto csp = headerOf(r, "Content-Security-Policy");
    REQUIRE(csp);
    CHECK(csp->find("default-src 'none'") != std::string::npos);
    CHECK(csp->find("unsafe-inline") == std::string::npos);
    const auto views = f.audits("link.view");
    REQUIRE(views.size() == 1);
    CHECK(views[0].outcome == state::Outcome::success);
    CHECK(views[0].detailsJson().at("remote") == "192.0.2.10");
    CHECK(views[0].subject == link.link.id);
}

TEST_CASE("text from a DICOM object cannot inject markup into the landing page") {
    Fixture f({"--seed", "32", "--series", "CT:1:32x32", "--patient-name", "<script>alert(1)</script>^&\"'"});
    const auto r = f.get("/s/" + Fixture::tokenOf(f.issue()));
    REQUIRE(r.status == 200);
    CHECK(r.body.find("<script>") == std::string::npos);
    CHECK(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
}

TEST_CASE("a download is a ZIP with DICOMDIR, README.TXT and the exact stored bytes, judged by unzip and dciodvfy") {
    Fixture f;
    const auto link = f.issue();
    auto r = f.get("/s/" + Fixture::tokenOf(link) + "/download");
    REQUIRE(r.status == 200);
    CHECK(headerOf(r, "Content-Type") == "application/zip");
    const auto disposition = headerOf(r, "Content-Disposition");
    REQUIRE(disposition);
    CHECK(disposition->find("attachment") != std::string::npos);
    CHECK(headerOf(r, "Cache-Control") == "no-store");
    const std::string zip = drain(r, 7777);  // an odd chunk size on purpose
    CHECK(zip.size() == r.streamLength);
    const auto zipPath = f.dir.path() / "download.zip";
    writeFile(zipPath, zip);
    const auto t = testing::runProcess({"unzip", "-t", zipPath.string()});
    INFO(t.out << t.err);
    CHECK(t.exitCode == 0);
    const auto out = f.dir.path() / "unzipped";
    REQUIRE(testing::runProcess({"unzip", "-q", zipPath.string(), "-d", out.string()}).exitCode == 0);
    CHECK(std::filesystem::exists(out / "DICOMDIR"));
    CHECK(std::filesystem::exists(out / "README.TXT"));
    const auto dump = testing::runProcess({"dcmdump", (out / "DICOMDIR").string()});
    CHECK(dump.exitCode == 0);
    const auto verify = testing::runProcess({"dciodvfy", (out / "DICOMDIR").string()});
    INFO(verify.err);
    CHECK(verify.exitCode == 0);
    CHECK(verify.err.find("Error") == std::string::npos);
    // Every sent file is in the tree, byte for byte (stored as received: the files were imported).
    std::size_t found = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(out / "DICOM")) {
        if (!e.is_regular_file()) continue;
        const auto bytes = readFile(e.path());
        for (const auto& [uid, path] : f.sent)
            if (readFile(path) == bytes) ++found;
    }
    CHECK(found == f.sent.size());
    const auto downloads = f.audits("link.download");
    REQUIRE(downloads.size() == 1);
    CHECK(downloads[0].outcome == state::Outcome::success);
    CHECK(downloads[0].detailsJson().at("bytes") == zip.size());
    CHECK(downloads[0].detailsJson().at("remote") == "192.0.2.10");
}

TEST_CASE("expired (virtual clock), revoked and exhausted links answer 410, unknown tokens 404") {
    Fixture f;
    SECTION("expired") {
        links::LinkRequest req;
        req.ttlDays = 2;
        const auto link = f.issue(req);
        f.clock.advance(std::chrono::hours(47));
        CHECK(f.get("/s/" + Fixture::tokenOf(link)).status == 200);
        f.clock.advance(std::chrono::hours(1));
        const auto r = f.get("/s/" + Fixture::tokenOf(link));
        CHECK(r.status == 410);
        CHECK(r.body.find("expired") != std::string::npos);
        CHECK(f.get("/s/" + Fixture::tokenOf(link) + "/download").status == 410);
    }
    SECTION("revoked") {
        const auto link = f.issue();
        CHECK(state::LinkStore(f.st.db()).revoke(link.link.id, 0, "test"));
        const auto r = f.get("/s/" + Fixture::tokenOf(link));
        CHECK(r.status == 410);
        CHECK(r.body.find("withdrawn") != std::string::npos);
    }
    SECTION("exhausted after max downloads") {
        links::LinkRequest req;
        req.maxDownloads = 2;
        const auto link = f.issue(req);
        for (int i = 0; i < 2; ++i) {
            auto r = f.get("/s/" + Fixture::tokenOf(link) + "/download");
            REQUIRE(r.status == 200);
        }
        const auto r = f.get("/s/" + Fixture::tokenOf(link) + "/download");
        CHECK(r.status == 410);
        CHECK(r.body.find("as many times") != std::string::npos);
        CHECK(f.get("/s/" + Fixture::tokenOf(link)).status == 410);
    }
    SECTION("unknown") {
        CHECK(f.get("/s/" + core::generateToken()).status == 404);
        CHECK(f.failedLookups.size() == 1);
    }
}

TEST_CASE("malformed tokens of every length and alphabet are 404 and count as failed look-ups") {
    Fixture f;
    f.policy.failedTokenThreshold = 100000;  // this test is about the answers, not the limiter
    const std::string good = Fixture::tokenOf(f.issue());
    std::vector<std::string> bad;
    for (std::size_t n = 0; n <= 80; ++n)
        if (n != 43) bad.push_back(std::string(n, 'A'));
    for (const char* junk : {"%2e%2e", "..", "../../etc/passwd", "A/B", "%00", "\xff\xfe", "+/+/", "AAAA=="})
        bad.push_back(junk);
    std::string upper = good;
    upper.back() = 'B';  // stray bits in the last character
    bad.push_back(upper);
    bad.push_back(good + "A");
    bad.push_back(good.substr(1));
    for (const auto& t : bad) {
        CAPTURE(t);
        const auto r = f.get("/s/" + t);
        CHECK((r.status == 404 || r.status == 429));
    }
    CHECK(f.failedLookups.size() >= bad.size() - 2);  // "A/B"-style targets may route elsewhere
    CHECK(f.get("/s/" + good).status == 200);
}

TEST_CASE("an address that keeps guessing is refused with 429 before any look-up; others are not") {
    Fixture f;
    f.policy.failedTokenThreshold = 5;
    const auto link = f.issue();
    for (int i = 0; i < 5; ++i) CHECK(f.get("/s/" + core::generateToken(), "198.51.100.7").status == 404);
    const auto blocked = f.get("/s/" + Fixture::tokenOf(link), "198.51.100.7");
    CHECK(blocked.status == 429);
    CHECK(headerOf(blocked, "Retry-After").has_value());
    CHECK(f.get("/s/" + Fixture::tokenOf(link), "198.51.100.8").status == 200);
    f.clock.advance(std::chrono::seconds(61));  // the window passes
    CHECK(f.get("/s/" + Fixture::tokenOf(link), "198.51.100.7").status == 200);
}

TEST_CASE("in incident mode /s/... answers 503 without looking up the token, and the API defers link requests") {
    Fixture f;
    const auto link = f.issue();
    const auto key = state::ApiKeyStore(f.st.db()).create("RIS", "ris", "t", "uid:0");
    f.gate.publish(policy::Mode::incident);
    const auto viewsBefore = f.audits("link.view").size();
    for (const std::string& target : std::vector<std::string>{"/s/" + Fixture::tokenOf(link), "/s/" + Fixture::tokenOf(link) + "/download",
                                     "/s/" + core::generateToken(), std::string("/s/garbage")}) {
        const auto r = f.get(target);
        CHECK(r.status == 503);
        CHECK(r.body.find("suspended") != std::string::npos);
        CHECK(r.body.find("USB") != std::string::npos);
    }
    CHECK(f.audits("link.view").size() == viewsBefore);  // nothing was looked up
    CHECK(f.failedLookups.empty());
    const auto r = f.request("POST", "/api/v1/links", json{{"study_uid", f.studyUid()}, {"recipient", "Dr X"}}.dump(),
                             {{"Authorization", "Bearer " + key.secret}});
    REQUIRE(r.status == 503);
    const json body = json::parse(r.body);
    CHECK(body.at("error") == "incident_mode");
    CHECK(body.at("deferred") == true);
    const std::string id = body.at("request_id");
    const auto kept = state::DeferredQueue(f.st.db()).get(id);
    REQUIRE(kept);
    CHECK(kept->status == "pending");
    CHECK(json::parse(kept->request).at("study_uids") == json::array({f.studyUid()}));
    const auto status = f.request("GET", "/api/v1/links/deferred/" + id, {}, {{"Authorization", "Bearer " + key.secret}});
    CHECK(status.status == 200);
    CHECK(json::parse(status.body).at("status") == "pending");
    // Another key does not see it.
    const auto other = state::ApiKeyStore(f.st.db()).create("RIS 2", "ris", "t", "uid:0");
    CHECK(f.request("GET", "/api/v1/links/deferred/" + id, {}, {{"Authorization", "Bearer " + other.secret}}).status ==
          404);
    // A request for a study not held here is refused, not kept.
    CHECK(f.request("POST", "/api/v1/links", json{{"study_uid", "1.2.3.4.5"}}.dump(),
                    {{"Authorization", "Bearer " + key.secret}})
              .status == 404);
    CHECK(state::DeferredQueue(f.st.db()).pending().size() == 1);
    // No link was issued in incident mode.
    CHECK(state::LinkStore(f.st.db()).list().size() == 1);
}

TEST_CASE("the RIS API refuses a missing, wrong or revoked key, and a key for one role cannot do another's work") {
    Fixture f;
    state::ApiKeyStore keys(f.st.db());
    const auto ris = keys.create("RIS", "ris", "t", "uid:0");
    const auto op = keys.create("portal", "operator", "t", "uid:0");
    const std::string body = json{{"study_uid", f.studyUid()}, {"ttl_days", 3}}.dump();
    const auto post = [&](std::vector<std::pair<std::string, std::string>> h) {
        return f.request("POST", "/api/v1/links", body, std::move(h));
    };
    CHECK(post({}).status == 401);
    CHECK(post({{"Authorization", "Basic abc"}}).status == 401);
    CHECK(post({{"Authorization", "Bearer "}}).status == 401);
    CHECK(post({{"Authorization", "Bearer " + core::generateToken()}}).status == 401);
    const auto created = post({{"Authorization", "Bearer " + ris.secret}});
    REQUIRE(created.status == 201);
    const json j = json::parse(created.body);
    CHECK(j.at("url").get<std::string>().rfind("https://images.example.org/s/", 0) == 0);
    CHECK(j.at("id").get<std::string>().rfind("lnk_", 0) == 0);
    CHECK(j.contains("expires_at"));
    // The RIS key cannot revoke; an operator key can.
    const std::string id = j.at("id");
    CHECK(f.request("DELETE", "/api/v1/links/" + id, {}, {{"Authorization", "Bearer " + ris.secret}}).status == 403);
    CHECK(f.request("DELETE", "/api/v1/links/" + id, {}, {{"Authorization", "Bearer " + op.secret}}).status == 200);
    // A revoked key is refused.
    REQUIRE(keys.revoke(ris.key.id, "t2"));
    const auto revoked = post({{"Authorization", "Bearer " + ris.secret}});
    CHECK(revoked.status == 401);
    CHECK(json::parse(revoked.body).at("error") == "revoked_api_key");
    // The policy caps what a key may ask for.
    const auto tooLong = f.request("POST", "/api/v1/links", json{{"study_uid", f.studyUid()}, {"ttl_days", 365}}.dump(),
                                   {{"Authorization", "Bearer " + op.secret}});
    CHECK(tooLong.status == 403);
    CHECK(json::parse(tooLong.body).at("rule") == "link.limits");
    // An unknown study.
    CHECK(f.request("POST", "/api/v1/links", json{{"study_uid", "1.2.3.4"}}.dump(),
                    {{"Authorization", "Bearer " + op.secret}})
              .status == 404);
    CHECK(!f.audits("link.create").empty());
}

TEST_CASE("link request bodies: malformed input gets a clear error") {
    using links::parseLinkRequest;
    const auto error = [](std::string_view body) {
        auto r = parseLinkRequest(body);
        REQUIRE(std::holds_alternative<std::string>(r));
        return std::get<std::string>(r);
    };
    CHECK(error("") == "the body must be a JSON object");
    CHECK(error("[]") == "the body must be a JSON object");
    CHECK(error("{\"study_uid\": 5}") == "study_uid must be a string");
    CHECK(error("{}") == "study_uid (or study_uids) is required");
    CHECK(error("{\"study_uid\": \"1.2.x\"}") == "a study UID is not a valid DICOM UID");
    CHECK(error("{\"study_uid\": \"1.2.3\", \"ttl_days\": 0}").find("ttl_days") != std::string::npos);
    CHECK(error("{\"study_uid\": \"1.2.3\", \"ttl_days\": 1.5}").find("ttl_days") != std::string::npos);
    CHECK(error("{\"study_uid\": \"1.2.3\", \"max_downloads\": -1}").find("max_downloads") != std::string::npos);
    CHECK(error("{\"study_uid\": \"1.2.3\", \"recipient\": \"a\\u0000b\"}").find("recipient") != std::string::npos);
    CHECK(error("{\"study_uid\": \"1.2.3\", \"x\": 1}") == "unknown field: x");
    CHECK(error(std::string(10000, '[')) == "the JSON is nested too deeply");
    CHECK(error("{\"study_uids\": []}").find("study_uids") != std::string::npos);
    const auto ok = parseLinkRequest(R"({"study_uids": ["1.2.3", "1.2.4"], "recipient": "Dr Müller", "ttl_days": 3})");
    REQUIRE(std::holds_alternative<links::LinkRequest>(ok));
    CHECK(std::get<links::LinkRequest>(ok).studyUids.size() == 2);
    CHECK(std::get<links::LinkRequest>(ok).recipient == "Dr Müller");
}
