// End-to-end: the real sealportd and sealportctl binaries, a real SQLCipher
// state, a NOTIFY_SOCKET bound by the test in place of systemd.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <atomic>
#include <thread>

#include "harness.hpp"
#include "sealport/control/protocol.hpp"

using namespace sealport::e2e;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A raw client that speaks (or mis-speaks) the control protocol.
class RawClient {
public:
    explicit RawClient(const std::filesystem::path& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~RawClient() { ::close(fd_); }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    void send(const std::string& bytes) {
        REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
    }
    // Reads until the daemon closes the connection.
    std::string readToEnd() {
        std::string out;
        char buf[4096];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }

private:
    int fd_ = -1;
};

json frameBody(const std::string& frame) {
    REQUIRE(frame.size() >= 4);
    const std::size_t n = (std::size_t{static_cast<unsigned char>(frame[0])} << 24) |
                          (std::size_t{static_cast<unsigned char>(frame[1])} << 16) |
                          (std::size_t{static_cast<unsigned char>(frame[2])} << 8) |
                          std::size_t{static_cast<unsigned char>(frame[3])};
    REQUIRE(frame.size() == 4 + n);
    return json::parse(frame.substr(4));
}

std::string header(std::uint32_t n) {
    std::string h(4, '\0');
    h[0] = static_cast<char>(n >> 24);
    h[1] = static_cast<char>(n >> 16);
    h[2] = static_cast<char>(n >> 8);
    h[3] = static_cast<char>(n);
    return h;
}

}  // namespace

TEST_CASE("sealportd announces READY=1 with its mode, answers status, and stops cleanly on SIGTERM") {
    Daemon d;
    d.startAndWaitReady();
    const auto& first = d.notify().messages();
    REQUIRE_FALSE(first.empty());
    // READY and STATUS come together, and the status names the mode.
    auto ready = std::find_if(first.begin(), first.end(),
                              [](const std::string& m) { return m.find("READY=1") != std::string::npos; });
    REQUIRE(ready != first.end());
    CHECK_THAT(*ready, Catch::Contains("STATUS=mode online"));

    // The control socket is usable as soon as READY=1 has been sent.
    const auto r = d.ctl({"status", "--json"});
    REQUIRE(r.exitCode == 0);
    const json s = jsonOf(r);
    CHECK(s.at("mode") == "online");
    CHECK_FALSE(s.at("mode_since").get<std::string>().empty());
    CHECK(s.at("alerts").is_array());
    CHECK(s.at("alerts").empty());
    CHECK(s.at("signer_fingerprint").get<std::string>().size() == 64);
    CHECK(s.at("audit_entries").get<int>() >= 2);

    struct stat st{};
    REQUIRE(::lstat(d.socket().c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0660);
    REQUIRE(::stat(d.stateDir().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    CHECK(d.terminate() == 0);
    const auto stopping = d.notify().waitFor("STOPPING=1", 2s);
    REQUIRE(stopping);
    CHECK_THAT(*stopping, Catch::Contains("STATUS="));

    // The stop was audited and signed: after a restart the chain verifies with a
    // checkpoint on the daemon.stop entry.
    d.startAndWaitReady();
    const json tail = jsonOf(d.ctl({"audit", "tail", "-n", "50", "--json"}));
    std::vector<std::string> actions;
    for (const auto& e : tail.at("entries")) actions.push_back(e.at("action"));
    CHECK(std::count(actions.begin(), actions.end(), "daemon.start") == 2);
    CHECK(std::count(actions.begin(), actions.end(), "daemon.stop") == 1);
    const json v = jsonOf(d.ctl({"audit", "verify", "--json"}));
    CHECK(v.at("ok") == true);
    CHECK(v.at("first_bad").is_null());
    CHECK(v.at("checkpoints").get<int>() >= 1);
    CHECK(d.terminate() == 0);
}

TEST_CASE("human output of status and audit commands is readable") {
    Daemon d;
    d.startAndWaitReady();
    auto r = d.ctl({"status"});
    REQUIRE(r.exitCode == 0);
    CHECK_THAT(r.out, Catch::Contains("mode:") && Catch::Contains("online"));
    r = d.ctl({"audit", "verify"});
    REQUIRE(r.exitCode == 0);
    CHECK_THAT(r.out, Catch::StartsWith("audit chain: ok"));
    r = d.ctl({"audit", "tail", "-n", "10"});
    REQUIRE(r.exitCode == 0);
    CHECK_THAT(r.out, Catch::Contains("daemon.start"));
    r = d.ctl({"audit", "tail", "-n", "many"});
    CHECK(r.exitCode == 64);
    r = d.ctl({"frobnicate"});
    CHECK(r.exitCode == 64);
    CHECK(d.terminate() == 0);
}

TEST_CASE("a wrong master key stops sealportd before anything is served") {
    Daemon d;
    d.startAndWaitReady();
    REQUIRE(d.terminate() == 0);

    // Another key for the same state.
    std::filesystem::remove(d.keyFile());
    REQUIRE(runProgram({binary("sealportd").string(), "--generate-key", d.keyFile().string()}).exitCode == 0);
    d.start();
    const auto code = d.waitExit(20s);
    REQUIRE(code);
    CHECK(*code != 0);
    CHECK_THAT(d.stderrText(), Catch::Contains("state cannot be decrypted with this key"));
    CHECK_FALSE(d.notify().waitFor("READY=1", 200ms));
    CHECK(d.ctl({"status"}).exitCode == 1);  // nothing listens
}

TEST_CASE("a missing or unsafe key file is refused with what to do") {
    Daemon d;
    SECTION("missing") {
        std::filesystem::remove(d.keyFile());
        d.start();
        const auto code = d.waitExit(20s);
        REQUIRE(code);
        CHECK(*code == 77);
        CHECK_THAT(d.stderrText(), Catch::Contains("--generate-key"));
    }
    SECTION("readable by others") {
        REQUIRE(::chmod(d.keyFile().c_str(), 0644) == 0);
        d.start();
        const auto code = d.waitExit(20s);
        REQUIRE(code);
        CHECK(*code == 77);
        CHECK_THAT(d.stderrText(), Catch::Contains("group or others"));
    }
    CHECK_FALSE(d.notify().waitFor("READY=1", 100ms));
}

TEST_CASE("a configuration error names the key and line and nothing starts") {
    Daemon d("[dicom]\nlisten = \"127.0.0.1:0\"\nae_title = \"THIS-TITLE-IS-FAR-TOO-LONG\"\n");
    d.start();
    const auto code = d.waitExit(20s);
    REQUIRE(code);
    CHECK(*code == 78);
    CHECK_THAT(d.stderrText(), Catch::Contains("ae_title") && Catch::Contains(".toml:"));
}

TEST_CASE("sealportd --check-config prints the effective configuration") {
    Daemon d("[dicom]\nlisten = \"127.0.0.1:0\"\nallowed_calling_aes = [\"MODALITY1\"]\n");
    const auto r = runProgram({binary("sealportd").string(), "--config", d.configFile().string(), "--check-config"});
    REQUIRE(r.exitCode == 0);
    CHECK_THAT(r.out, Catch::Contains("allowed_calling_aes = [\"MODALITY1\"]"));
    CHECK_THAT(r.out, Catch::Contains("security = [\"uid:0\"]"));
}

TEST_CASE("a caller whose uid holds no role is refused, and the refusal is audited") {
    Daemon d;
    d.startAndWaitReady();
    // Open the path so that the refusal is the daemon's, not the file system's.
    REQUIRE(::chmod(d.dir().c_str(), 0755) == 0);
    REQUIRE(::chmod((d.dir() / "run").c_str(), 0755) == 0);
    REQUIRE(::chmod(d.socket().c_str(), 0666) == 0);

    const std::uint32_t stranger = 48151;
    const auto r = d.ctlAs(stranger, {"status", "--json"});
    INFO(r.err);
    CHECK(r.exitCode == 2);
    CHECK_THAT(r.err, Catch::Contains("permission denied"));
    const json refusal = json::parse(r.out);
    CHECK(refusal.at("error") == "refused");

    const auto r2 = d.ctlAs(stranger, {"audit", "tail"});
    CHECK(r2.exitCode == 2);

    const json tail = jsonOf(d.ctl({"audit", "tail", "-n", "5", "--json"}));
    std::vector<json> refusals;
    for (const auto& e : tail.at("entries"))
        if (e.at("action") == "control.refused") refusals.push_back(e);
    REQUIRE(refusals.size() == 2);
    CHECK(refusals[0].at("subject") == "status");
    CHECK(refusals[0].at("outcome") == "refused");
    CHECK(refusals[0].at("actor").at("uid") == stranger);
    CHECK(refusals[0].at("actor").at("role") == "none");
    CHECK(refusals[0].at("details").at("correlation_id") == refusal.at("correlation_id"));
    CHECK(refusals[1].at("subject") == "audit tail");
    CHECK(d.terminate() == 0);
}

TEST_CASE("a config without [roles] lets nobody in, not even root") {
    Daemon d("", /*mapRoot=*/false);
    d.startAndWaitReady();
    const auto r = d.ctl({"status"});
    CHECK(r.exitCode == 2);
    CHECK_THAT(r.err, Catch::Contains("permission denied"));
    CHECK(d.terminate() == 0);
}

TEST_CASE("malformed, oversized and slow clients are answered with an error and dropped") {
    Daemon d;
    d.startAndWaitReady();

    SECTION("not JSON") {
        RawClient c(d.socket());
        c.send(header(5) + "hello");
        const json r = frameBody(c.readToEnd());
        CHECK(r.at("error") == "bad_request");
        CHECK_THAT(r.at("message").get<std::string>(), Catch::Contains("JSON"));
    }
    SECTION("a length over the limit is refused without reading the body") {
        RawClient c(d.socket());
        c.send(header(64U * 1024U * 1024U));
        const json r = frameBody(c.readToEnd());
        CHECK(r.at("error") == "bad_request");
        CHECK_THAT(r.at("message").get<std::string>(), Catch::Contains("exceeds"));
    }
    SECTION("a client that sends half a frame and stalls is cut off at the deadline") {
        RawClient c(d.socket());
        c.send(header(100) + "{\"comm");
        const auto t0 = std::chrono::steady_clock::now();
        const json r = frameBody(c.readToEnd());
        const auto waited = std::chrono::steady_clock::now() - t0;
        CHECK(r.at("message") == "request not received in time");
        CHECK(waited < 4s);  // request_timeout_ms = 1000 in the test config
    }
    SECTION("a silent client is cut off too") {
        RawClient c(d.socket());
        const json r = frameBody(c.readToEnd());
        CHECK(r.at("error") == "bad_request");
    }
    SECTION("a client that hangs up mid-frame does not disturb the daemon") {
        { RawClient c(d.socket()); c.send(header(1000) + "{"); }
    }
    // Whatever the bad client did, the daemon still serves.
    const auto ok = d.ctl({"status", "--json"});
    CHECK(ok.exitCode == 0);
    CHECK(d.terminate() == 0);
}

TEST_CASE("sealportd pings the watchdog from its main loop at half the interval") {
    Daemon d;
    // 200 ms watchdog: pings expected every 100 ms.
    d.startAndWaitReady({"WATCHDOG_USEC=200000"});
    const auto n = d.notify().countFor("WATCHDOG=1", 1000ms);
    CHECK(n >= 5);
    CHECK(n <= 15);
    CHECK(d.terminate() == 0);
}

TEST_CASE("the daemon stays up while many clients connect at once") {
    Daemon d;
    d.startAndWaitReady();
    std::vector<std::thread> threads;
    std::atomic<int> okCount{0};
    for (int i = 0; i < 16; ++i) {
        threads.emplace_back([&] {
            const auto r = d.ctl({"status", "--json"});
            if (r.exitCode == 0) ++okCount;
        });
    }
    for (auto& t : threads) t.join();
    CHECK(okCount.load() == 16);
    CHECK(d.terminate() == 0);
}
