// End-to-end online links: the real sealportd with real TLS, real curl, a
// study sent with storescu, and the real unzip, dcmdump and dciodvfy judging
// what a physician would download.
#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <thread>

#include "harness.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/state/state.hpp"

using namespace sealport;
using namespace sealport::e2e;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kHost = "images.sealport.test";

// A self-signed certificate for kHost, made by the openssl CLI.
void makeCertificate(const std::filesystem::path& dir) {
    const auto r = runProgram({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                               "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                               std::string("/CN=") + kHost, "-addext", std::string("subjectAltName=DNS:") + kHost,
                               "-keyout", (dir / "tls.key").string(), "-out", (dir / "tls.crt").string()});
    REQUIRE(r.exitCode == 0);
}

struct LinkDaemon {
    std::unique_ptr<Daemon> d;
    std::uint16_t dicomPort = 0, httpsPort = 0;

    explicit LinkDaemon(const std::string& extra = "") {
        d = std::make_unique<Daemon>("");  // its config is replaced once the certificate exists
        std::filesystem::create_directories(d->dir() / "tls");
        makeCertificate(d->dir() / "tls");
        d->writeConfig(config(extra), true);
        start();
    }

    std::string config(const std::string& extra) const {
        const auto tls = d ? d->dir() / "tls" : std::filesystem::path("/nonexistent");
        return "[dicom]\nlisten = \"127.0.0.1:0\"\nae_title = \"SEALPORT\"\nallowed_calling_aes = [\"MODALITY1\"]\n"
               "[links]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://" +
               std::string(kHost) + "\"\ntls_cert = \"" + (tls / "tls.crt").string() + "\"\ntls_key = \"" +
               (tls / "tls.key").string() + "\"\n" + extra;
    }

    void start() {
        d->startAndWaitReady();
        const json s = jsonOf(d->ctl({"status", "--json"}));
        REQUIRE(s.at("https_port").is_number());
        httpsPort = s.at("https_port").get<std::uint16_t>();
        dicomPort = s.at("dicom_port").get<std::uint16_t>();
    }

    // The public URL as a client reaches it here: kHost resolved to loopback on the real port.
    std::string reachable(const std::string& url) const {
        const std::string base = std::string("https://") + kHost;
        REQUIRE(url.rfind(base, 0) == 0);
        return base + ":" + std::to_string(httpsPort) + url.substr(base.size());
    }

    std::vector<std::string> curlArgs() const {
        return {"/usr/bin/curl", "-sS", "--http1.1", "--cacert", (d->dir() / "tls" / "tls.crt").string(),
                "--resolve", std::string(kHost) + ":" + std::to_string(httpsPort) + ":127.0.0.1"};
    }

    // curl -o FILE -w '%{http_code} %{size_download}' URL [extra...]
    ProgramResult curl(const std::string& url, const std::filesystem::path& out, std::vector<std::string> extra = {},
                       std::chrono::milliseconds timeout = 60s) const {
        auto argv = curlArgs();
        argv.insert(argv.end(), {"-o", out.string(), "-w", "%{http_code} %{size_download}"});
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(url);
        return runProgram(argv, {}, timeout);
    }

    json api(const std::string& method, const std::string& path, const std::string& key, const std::string& body = "") {
        auto argv = curlArgs();
        argv.insert(argv.end(), {"-X", method, "-w", "\n%{http_code}"});
        if (!key.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + key});
        if (!body.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
        argv.push_back(std::string("https://") + kHost + ":" + std::to_string(httpsPort) + path);
        const auto r = runProgram(argv);
        REQUIRE(r.exitCode == 0);
        const auto nl = r.out.rfind('\n');
        json out = r.out.substr(0, nl).empty() ? json::object() : json::parse(r.out.substr(0, nl));
        out["_status"] = std::stoi(r.out.substr(nl + 1));
        return out;
    }
};

void storescu(std::uint16_t port, const std::filesystem::path& what) {
    const auto r = runProgram({"/usr/bin/storescu", "-xe", "-aet", "MODALITY1", "-aec", "SEALPORT", "+sd", "+r", "-nh",
                               "127.0.0.1", std::to_string(port), what.string()},
                              {"TCP_NODELAY=1"}, 120s);
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
}

std::vector<std::uint8_t> readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::string text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("a link created with sealportctl serves its study over real TLS; the ZIP passes unzip, dcmdump and dciodvfy") {
    LinkDaemon ld;
    Daemon& d = *ld.d;
    const json m = generate(d.dir() / "study", {"--seed", "41", "--series", "CT:4:64x64", "--series", "MR:3:64x64"});
    storescu(ld.dicomPort, d.dir() / "study");
    const std::string studyUid = m.at("study").at("uid");
    const json link = jsonOf(d.ctl({"link", "create", "--study", studyUid, "--recipient", "Dr Dubois", "--json"}));
    const std::string url = link.at("url");
    CHECK(link.at("id").get<std::string>().rfind("lnk_", 0) == 0);
    CHECK(jsonOf(d.ctl({"status", "--json"})).at("links_active") == 1);

    // The landing page.
    const auto page = ld.curl(ld.reachable(url), d.dir() / "page.html", {"-D", (d.dir() / "headers.txt").string()});
    REQUIRE(page.exitCode == 0);
    CHECK(page.out.rfind("200 ", 0) == 0);
    const std::string html = text(d.dir() / "page.html");
    const std::string name = m.at("patient").at("name");
    CHECK(html.find(name.substr(0, name.find('^'))) != std::string::npos);  // accented family name, intact
    CHECK(html.find("7 images") != std::string::npos);
    const std::string headers = text(d.dir() / "headers.txt");
    CHECK(headers.find("Cache-Control: no-store") != std::string::npos);
    CHECK(headers.find("Referrer-Policy: no-referrer") != std::string::npos);
    CHECK(headers.find("Strict-Transport-Security") != std::string::npos);
    CHECK(headers.find("Content-Security-Policy: default-src 'none'") != std::string::npos);

    // The download.
    const auto zip = d.dir() / "study.zip";
    const auto got = ld.curl(ld.reachable(url) + "/download", zip, {"-D", (d.dir() / "dl-headers.txt").string()});
    REQUIRE(got.exitCode == 0);
    CHECK(got.out.rfind("200 ", 0) == 0);
    const std::string dlHeaders = text(d.dir() / "dl-headers.txt");
    CHECK(dlHeaders.find("Content-Length: " + std::to_string(std::filesystem::file_size(zip))) != std::string::npos);
    const auto t = runProgram({"/usr/bin/unzip", "-t", zip.string()});
    INFO(t.out);
    CHECK(t.exitCode == 0);
    const auto out = d.dir() / "unzipped";
    REQUIRE(runProgram({"/usr/bin/unzip", "-q", zip.string(), "-d", out.string()}).exitCode == 0);
    CHECK(runProgram({"/usr/bin/dcmdump", (out / "DICOMDIR").string()}).exitCode == 0);
    const auto v = runProgram({"/usr/bin/dciodvfy", (out / "DICOMDIR").string()});
    INFO(v.err);
    CHECK(v.exitCode == 0);
    CHECK(v.err.find("Error") == std::string::npos);
    CHECK(std::filesystem::exists(out / "README.TXT"));

    // Every file equals the bytes the appliance ingested (its blob, decrypted).
    core::KeyRing keys = core::deriveKeyRing(core::readMasterKeyFile(d.keyFile(), 0));
    core::SystemClock clock;
    state::State view(d.stateDir(), keys, clock, 64);
    std::size_t files = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(out / "DICOM")) {
        if (!e.is_regular_file()) continue;
        ++files;
        const auto bytes = readFile(e.path());
        bool matched = false;
        for (const auto& inst : view.catalogue().instancesOf(studyUid)) {
            auto blob = view.blobs().get(inst.blobId);
            if (std::holds_alternative<core::Bytes>(blob) && std::get<core::Bytes>(blob) == bytes) matched = true;
        }
        CHECK(matched);
    }
    CHECK(files == 7);
    const auto downloads = d.auditEntries("link.download");
    REQUIRE(downloads.size() == 1);
    CHECK(downloads[0].at("outcome") == "success");
    CHECK(downloads[0].at("details").at("remote") == "127.0.0.1");

    // Revoked: 410.
    REQUIRE(d.ctl({"link", "revoke", link.at("id")}).exitCode == 0);
    const auto gone = ld.curl(ld.reachable(url), d.dir() / "gone.html");
    CHECK(gone.out.rfind("410 ", 0) == 0);
    CHECK(d.terminate() == 0);
}

TEST_CASE("incident mode cuts a download in flight within a second, answers 503, and defers RIS requests across a restart") {
    LinkDaemon ld;
    Daemon& d = *ld.d;
    const json m = generate(d.dir() / "study", {"--seed", "42", "--series", "CT:40:512x512"});  // ~21 MB
    storescu(ld.dicomPort, d.dir() / "study");
    const std::string studyUid = m.at("study").at("uid");
    const json link = jsonOf(d.ctl({"link", "create", "--study", studyUid, "--json"}));
    const std::string url = ld.reachable(link.at("url"));
    const json key = jsonOf(d.ctl({"apikey", "create", "--name", "RIS", "--json"}));

    // A slow client: 2 MB/s would take ~10 s for the whole study.
    auto download = std::async(std::launch::async, [&] {
        return ld.curl(url + "/download", d.dir() / "partial.zip", {"--limit-rate", "2M"}, 60s);
    });
    std::this_thread::sleep_for(1500ms);
    if (download.wait_for(0s) != std::future_status::timeout) {  // it must still be downloading
        const auto early = download.get();
        FAIL("the download ended before the switch: curl " << early.exitCode << " '" << early.out << "' "
                                                             << early.err << "\n" << d.stderrText());
    }
    const auto before = std::chrono::steady_clock::now();
    REQUIRE(d.ctl({"incident", "enter", "--reason", "drill: ransomware suspected"}).exitCode == 0);
    REQUIRE(download.wait_for(5s) == std::future_status::ready);
    const auto cutAfter = std::chrono::steady_clock::now() - before;
    const auto r = download.get();
    CHECK(r.exitCode != 0);  // curl saw the connection end early
    const auto received = std::filesystem::file_size(d.dir() / "partial.zip");
    CHECK(received < 20'000'000);
    // curl itself sleeps between reads at --limit-rate; the server side cuts at once.
    CHECK(cutAfter < 1500ms);
    UNSCOPED_INFO("cut " << std::chrono::duration_cast<std::chrono::milliseconds>(cutAfter).count() << " ms after the command, "
                         << received << " bytes received");

    // New requests: 503, without looking up the token.
    const auto suspended = ld.curl(url, d.dir() / "suspended.html");
    CHECK(suspended.out.rfind("503 ", 0) == 0);
    CHECK(text(d.dir() / "suspended.html").find("suspended") != std::string::npos);

    // The RIS asks for a link: kept, not lost.
    const json deferred =
        ld.api("POST", "/api/v1/links", key.at("key"), json{{"study_uid", studyUid}, {"recipient", "Dr X"}}.dump());
    CHECK(deferred.at("_status") == 503);
    CHECK(deferred.at("error") == "incident_mode");
    CHECK(deferred.at("deferred") == true);
    const std::string requestId = deferred.at("request_id");

    // It survives a restart.
    CHECK(d.terminate() == 0);
    ld.start();
    const json status = ld.api("GET", "/api/v1/links/deferred/" + requestId, key.at("key"));
    CHECK(status.at("_status") == 200);
    CHECK(status.at("status") == "pending");
    // The restarted daemon listens on another port: the same link, reached again.
    CHECK(ld.curl(ld.reachable(link.at("url")), d.dir() / "again.html").out.rfind("503 ", 0) == 0);
    CHECK(d.terminate() == 0);
}

TEST_CASE("the RIS API over TLS refuses missing, wrong and revoked keys, and creates links with a valid one") {
    LinkDaemon ld;
    Daemon& d = *ld.d;
    const json m = generate(d.dir() / "study", {"--seed", "43", "--series", "CT:2:64x64"});
    storescu(ld.dicomPort, d.dir() / "study");
    const std::string body = json{{"study_uid", m.at("study").at("uid")}, {"ttl_days", 2}}.dump();
    const json key = jsonOf(d.ctl({"apikey", "create", "--name", "RIS", "--json"}));
    CHECK(ld.api("POST", "/api/v1/links", "", body).at("_status") == 401);
    CHECK(ld.api("POST", "/api/v1/links", "not-a-key", body).at("_status") == 401);
    const json created = ld.api("POST", "/api/v1/links", key.at("key"), body);
    REQUIRE(created.at("_status") == 201);
    CHECK(ld.curl(ld.reachable(created.at("url")), d.dir() / "p.html").out.rfind("200 ", 0) == 0);
    // A RIS key cannot revoke links.
    CHECK(ld.api("DELETE", "/api/v1/links/" + created.at("id").get<std::string>(), key.at("key")).at("_status") == 403);
    REQUIRE(d.ctl({"apikey", "revoke", key.at("id")}).exitCode == 0);
    CHECK(ld.api("POST", "/api/v1/links", key.at("key"), body).at("_status") == 401);
    const json list = jsonOf(d.ctl({"apikey", "list", "--json"}));
    REQUIRE(list.at("keys").size() == 1);
    CHECK(list.at("keys")[0].dump().find(key.at("key").get<std::string>()) == std::string::npos);  // secret never shown again
    CHECK(d.terminate() == 0);
}

TEST_CASE("guessing tokens over TLS: at the policy's threshold an alert is raised and incident mode entered") {
    LinkDaemon ld("[policy]\nfailed_token_threshold = 5\nfailed_token_window_seconds = 600\n"
                  "failed_tokens_trip_incident = true\n");
    Daemon& d = *ld.d;
    const std::string base = std::string("https://") + kHost + ":" + std::to_string(ld.httpsPort) + "/s/";
    for (int i = 0; i < 5; ++i) {
        const auto r = ld.curl(base + std::string(43, static_cast<char>('A' + i)), d.dir() / "guess.html");
        CHECK(r.out.rfind("404 ", 0) == 0);
    }
    // The tripwire runs on the main loop: give it a moment.
    json status;
    for (int i = 0; i < 50; ++i) {
        status = jsonOf(d.ctl({"status", "--json"}));
        if (status.at("mode") == "incident") break;
        std::this_thread::sleep_for(100ms);
    }
    CHECK(status.at("mode") == "incident");
    REQUIRE_FALSE(status.at("alerts").empty());
    CHECK(status.at("alerts")[0].get<std::string>().find("failed link-token look-ups from 127.0.0.1") != std::string::npos);
    // Now in incident mode every /s/... is 503, guessed or not.
    CHECK(ld.curl(base + std::string(43, 'Z'), d.dir() / "after.html").out.rfind("503 ", 0) == 0);
    CHECK(d.terminate() == 0);
}
