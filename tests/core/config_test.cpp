#include "sealport/core/config.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>

#include "core_test_support.hpp"

using Catch::Matchers::Contains;
using sealport::core::Config;
using sealport::core::ConfigError;
using sealport::core::Endpoint;
using sealport::core::Environment;
using sealport::core::NameResolver;
using sealport::core::Principal;

namespace {

// Stands in for NSS: the test machine's passwd/group databases are not ours to rely on.
class FakeNames final : public NameResolver {
  public:
    std::optional<std::uint32_t> uidOf(const std::string& user) const override {
        static const std::map<std::string, std::uint32_t> users{{"alice", 1101}, {"bob", 1102}};
        auto it = users.find(user);
        if (it == users.end())
            return std::nullopt;
        return it->second;
    }
    std::optional<std::uint32_t> gidOf(const std::string& group) const override {
        static const std::map<std::string, std::uint32_t> groups{{"frontdesk", 2101},
                                                                 {"audit", 2102}};
        auto it = groups.find(group);
        if (it == groups.end())
            return std::nullopt;
        return it->second;
    }
};

const FakeNames kNames;

Config parse(const std::string& toml, const Environment& env = Environment{}) {
    std::istringstream in(toml);
    return sealport::core::parseConfig(in, "test.toml", env, kNames);
}

// The message of the ConfigError that parsing `toml` throws ("" when it does not throw).
std::string configErrorOf(const std::string& toml) {
    try {
        (void)parse(toml);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

Principal uid(std::uint32_t id, std::string text) {
    return Principal{Principal::Kind::uid, id, std::move(text)};
}
Principal gid(std::uint32_t id, std::string text) {
    return Principal{Principal::Kind::gid, id, std::move(text)};
}

// Principals compared by what they grant; `text` only records how they were written.
void requireSameGrants(const std::vector<Principal>& a, const std::vector<Principal>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].kind == b[i].kind);
        CHECK(a[i].id == b[i].id);
    }
}

void requireSameConfig(const Config& a, const Config& b) {
    CHECK(a.stateDir == b.stateDir);
    CHECK(a.keyFile == b.keyFile);
    CHECK(a.control.socket == b.control.socket);
    CHECK(a.control.maxRequestBytes == b.control.maxRequestBytes);
    CHECK(a.control.requestTimeoutMs == b.control.requestTimeoutMs);
    CHECK(a.control.maxClients == b.control.maxClients);
    CHECK(a.dicom.listen == b.dicom.listen);
    CHECK(a.dicom.aeTitle == b.dicom.aeTitle);
    CHECK(a.dicom.allowedCallingAes == b.dicom.allowedCallingAes);
    CHECK(a.links.listen == b.links.listen);
    CHECK(a.links.publicUrl == b.links.publicUrl);
    CHECK(a.links.tlsCert == b.links.tlsCert);
    CHECK(a.links.tlsKey == b.links.tlsKey);
    CHECK(a.console.listen == b.console.listen);
    CHECK(a.media.allowImageFiles == b.media.allowImageFiles);
    requireSameGrants(a.roles.security, b.roles.security);
    requireSameGrants(a.roles.operator_, b.roles.operator_);
    requireSameGrants(a.roles.auditor, b.roles.auditor);
    requireSameGrants(a.roles.ris, b.roles.ris);
    CHECK(a.audit.checkpointEvery == b.audit.checkpointEvery);
    CHECK(a.audit.verifyIntervalSeconds == b.audit.verifyIntervalSeconds);
    const auto& p = a.policy;
    const auto& q = b.policy;
    CHECK(p.onlineChannels == q.onlineChannels);
    CHECK(p.incidentChannels == q.incidentChannels);
    CHECK(p.onlineCallingAes == q.onlineCallingAes);
    CHECK(p.incidentCallingAes == q.incidentCallingAes);
    CHECK(p.linkTtlDaysDefault == q.linkTtlDaysDefault);
    CHECK(p.linkTtlDaysMax == q.linkTtlDaysMax);
    CHECK(p.maxDownloadsDefault == q.maxDownloadsDefault);
    CHECK(p.maxDownloadsMax == q.maxDownloadsMax);
    CHECK(p.exitApprovalWindow == q.exitApprovalWindow);
    CHECK(p.failedTokenThreshold == q.failedTokenThreshold);
    CHECK(p.failedTokenWindow == q.failedTokenWindow);
    CHECK(p.failedTokensTripIncident == q.failedTokensTripIncident);
    CHECK(p.revokeLinksOnExit == q.revokeLinksOnExit);
}

const std::string kFullConfig = R"toml(# every key sealport knows
state_dir = "/var/lib/sealport"
key_file = "/etc/sealport/master.key"

[control]
socket = "/run/sealport/control.sock"
max_request_bytes = 131072
request_timeout_ms = 2500
max_clients = 8

[dicom]
listen = "127.0.0.1:11113"
ae_title = "SEALPORT_TEST"
allowed_calling_aes = ["MODALITY1", "PACS"]
max_object_mib = 512

[links]
listen = "[::1]:9443"
public_url = "https://images.example.org"
tls_cert = "/etc/sealport/tls.crt"
tls_key = "/etc/sealport/tls.key"

[console]
listen = "127.0.0.1:0"

[media]
allow_image_files = true

[roles]
security = ["uid:1001", "user:alice"]
operator = ["gid:2001", "group:frontdesk"]
auditor = ["user:bob", "group:audit"]
ris = ["uid:3001"]

[audit]
checkpoint_every = 16
verify_interval_seconds = 60

[policy]
online_export_channels = ["media"]
incident_export_channels = ["media"]
incident_allowed_calling_aes = ["EMERGENCY_CT"]
link_ttl_days_default = 3
link_ttl_days_max = 14
max_downloads_default = 2
max_downloads_max = 5
exit_approval_window_minutes = 30
failed_token_threshold = 50
failed_token_window_seconds = 120
failed_tokens_trip_incident = false
revoke_links_on_exit = false
)toml";

}  // namespace

TEST_CASE("a full configuration sets every key", "[config]") {
    const Config c = parse(kFullConfig);
    CHECK(c.stateDir == "/var/lib/sealport");
    CHECK(c.keyFile == std::filesystem::path("/etc/sealport/master.key"));
    CHECK(c.control.socket == "/run/sealport/control.sock");
    CHECK(c.control.maxRequestBytes == 131072);
    CHECK(c.control.requestTimeoutMs == 2500);
    CHECK(c.control.maxClients == 8);
    CHECK(c.dicom.listen == Endpoint{"127.0.0.1", 11113});
    CHECK(c.dicom.aeTitle == "SEALPORT_TEST");
    CHECK(c.dicom.allowedCallingAes == std::vector<std::string>{"MODALITY1", "PACS"});
    CHECK(c.dicom.maxObjectMiB == 512);
    CHECK(c.links.listen == Endpoint{"::1", 9443});
    CHECK(c.links.publicUrl == "https://images.example.org");
    CHECK(c.links.tlsCert == std::filesystem::path("/etc/sealport/tls.crt"));
    CHECK(c.links.tlsKey == std::filesystem::path("/etc/sealport/tls.key"));
    CHECK(c.console.listen == Endpoint{"127.0.0.1", 0});
    CHECK(c.media.allowImageFiles);
    CHECK(c.roles.security ==
          std::vector<Principal>{uid(1001, "uid:1001"), uid(1101, "user:alice")});
    CHECK(c.roles.operator_ ==
          std::vector<Principal>{gid(2001, "gid:2001"), gid(2101, "group:frontdesk")});
    CHECK(c.roles.auditor ==
          std::vector<Principal>{uid(1102, "user:bob"), gid(2102, "group:audit")});
    CHECK(c.roles.ris == std::vector<Principal>{uid(3001, "uid:3001")});
    CHECK(c.audit.checkpointEvery == 16);
    CHECK(c.audit.verifyIntervalSeconds == 60);
    using sealport::policy::Channel;
    CHECK(c.policy.onlineChannels == std::vector<Channel>{Channel::media});
    CHECK(c.policy.incidentChannels == std::vector<Channel>{Channel::media});
    // The online AE allow-list is [dicom] allowed_calling_aes, not a second copy to keep in step.
    CHECK(c.policy.onlineCallingAes == std::vector<std::string>{"MODALITY1", "PACS"});
    CHECK(c.policy.incidentCallingAes == std::vector<std::string>{"EMERGENCY_CT"});
    CHECK(c.policy.linkTtlDaysDefault == 3);
    CHECK(c.policy.linkTtlDaysMax == 14);
    CHECK(c.policy.maxDownloadsDefault == 2);
    CHECK(c.policy.maxDownloadsMax == 5);
    CHECK(c.policy.exitApprovalWindow == std::chrono::minutes(30));
    CHECK(c.policy.failedTokenThreshold == 50);
    CHECK(c.policy.failedTokenWindow == std::chrono::seconds(120));
    CHECK_FALSE(c.policy.failedTokensTripIncident);
    CHECK_FALSE(c.policy.revokeLinksOnExit);
}

TEST_CASE("embedded defaults without systemd directories put state under ./var", "[config]") {
    const Config c = sealport::core::defaultConfig(Environment{});
    CHECK(c.stateDir == "var");
    CHECK(c.control.socket == std::filesystem::path("var") / "control.sock");
    CHECK_FALSE(c.keyFile.has_value());
    CHECK(c.control.maxRequestBytes == 64 * 1024);
    CHECK(c.control.requestTimeoutMs == 5000);
    CHECK(c.dicom.maxObjectMiB == 2048);
    CHECK(c.control.maxClients == 32);
    CHECK(c.dicom.listen == Endpoint{"0.0.0.0", 11112});
    CHECK(c.dicom.aeTitle == "SEALPORT");
    // Nothing is accepted from an AE that is not listed, and by default none is.
    CHECK(c.dicom.allowedCallingAes.empty());
    CHECK(c.links.listen == Endpoint{"0.0.0.0", 8443});
    CHECK(c.links.publicUrl == "https://localhost:8443");
    CHECK_FALSE(c.links.tlsCert.has_value());
    CHECK_FALSE(c.links.tlsKey.has_value());
    CHECK(c.console.listen == Endpoint{"127.0.0.1", 8444});
    CHECK_FALSE(c.media.allowImageFiles);
    // Nobody holds a role unless the configuration names them.
    CHECK(c.roles.security.empty());
    CHECK(c.roles.operator_.empty());
    CHECK(c.roles.auditor.empty());
    CHECK(c.roles.ris.empty());
    CHECK(c.audit.checkpointEvery == 64);
    CHECK(c.audit.verifyIntervalSeconds == 300);
    // The safe policy: media only in incident mode, links revoked on exit, guesses trip incident.
    using sealport::policy::Channel;
    CHECK(c.policy.onlineChannels == std::vector<Channel>{Channel::link, Channel::media});
    CHECK(c.policy.incidentChannels == std::vector<Channel>{Channel::media});
    CHECK(c.policy.onlineCallingAes.empty());
    CHECK(c.policy.incidentCallingAes.empty());
    CHECK(c.policy.exitApprovalWindow == std::chrono::minutes(15));
    CHECK(c.policy.failedTokensTripIncident);
    CHECK(c.policy.revokeLinksOnExit);
}

TEST_CASE("embedded defaults follow STATE_DIRECTORY and RUNTIME_DIRECTORY", "[config]") {
    SECTION("single directories") {
        const Config c =
            sealport::core::defaultConfig(Environment{"/var/lib/sealport", "/run/sealport"});
        CHECK(c.stateDir == "/var/lib/sealport");
        CHECK(c.control.socket == "/run/sealport/control.sock");
    }
    SECTION("colon-separated lists: the first entry is ours") {
        const Config c = sealport::core::defaultConfig(
            Environment{"/var/lib/sealport:/var/lib/other", "/run/sealport:/run/other"});
        CHECK(c.stateDir == "/var/lib/sealport");
        CHECK(c.control.socket == "/run/sealport/control.sock");
    }
    SECTION("STATE_DIRECTORY only: the socket lives in the state directory") {
        const Config c = sealport::core::defaultConfig(Environment{"/var/lib/sealport", nullptr});
        CHECK(c.stateDir == "/var/lib/sealport");
        CHECK(c.control.socket == "/var/lib/sealport/control.sock");
    }
    SECTION("empty variables count as unset") {
        const Config c = sealport::core::defaultConfig(Environment{"", ""});
        CHECK(c.stateDir == "var");
        CHECK(c.control.socket == std::filesystem::path("var") / "control.sock");
    }
}

TEST_CASE("an empty configuration file gives the embedded defaults", "[config]") {
    const Environment env{"/var/lib/sealport", "/run/sealport"};
    requireSameConfig(parse("", env), sealport::core::defaultConfig(env));
}

TEST_CASE("without a configured socket, the control socket follows state_dir", "[config]") {
    CHECK(parse("state_dir = \"/srv/sp\"\n").control.socket == "/srv/sp/control.sock");
    CHECK(parse("state_dir = \"/srv/sp\"\n", Environment{nullptr, "/run/sp"}).control.socket ==
          "/run/sp/control.sock");
}

TEST_CASE("an unknown top-level key is refused, naming the key and its line", "[config]") {
    CHECK(configErrorOf("state_dir = \"/srv/sp\"\n"
                        "\n"
                        "colour = \"blue\"\n") == "test.toml:3: colour: unknown key");
}

TEST_CASE("an unknown key in a section is refused, naming section, key and line", "[config]") {
    const std::string toml =
        "state_dir = \"/srv/sp\"\n"   // 1
        "\n"                          // 2
        "[dicom]\n"                   // 3
        "listen = \"0.0.0.0:104\"\n"  // 4
        "ae_title = \"SP\"\n"         // 5
        "allowed_calling_aes = []\n"  // 6
        "bogus = 1\n"                 // 7
        "also_bogus = 2\n";           // 8
    CHECK(configErrorOf(toml) == "test.toml:7: [dicom] bogus: unknown key");
}

TEST_CASE("an unknown section is refused", "[config]") {
    const std::string message =
        configErrorOf("[dicom]\nae_title = \"SP\"\n\n[tls]\ncert = \"x\"\n");
    CHECK_THAT(message, Contains("test.toml:") && Contains("tls: unknown key"));
}

TEST_CASE("a misspelt key in each section is refused", "[config]") {
    const auto [section, key] = GENERATE(table<std::string, std::string>({
        {"control", "max_client"},
        {"dicom", "aetitle"},
        {"links", "tls_certificate"},
        {"console", "port"},
        {"media", "allow_images"},
        {"roles", "admin"},
        {"audit", "checkpoint_interval"},
        {"policy", "link_ttl"},
    }));
    CAPTURE(section, key);
    CHECK(configErrorOf("[" + section + "]\n" + key + " = 1\n") ==
          "test.toml:2: [" + section + "] " + key + ": unknown key");
}

TEST_CASE("a value of the wrong type is refused with its line and key", "[config]") {
    const auto [toml, expected] = GENERATE(table<std::string, std::string>({
        {"state_dir = 5\n", "test.toml:1: state_dir: must be a string"},
        {"key_file = true\n", "test.toml:1: key_file: must be a string"},
        {"[control]\nmax_clients = \"8\"\n",
         "test.toml:2: [control] max_clients: must be an integer"},
        {"[control]\nrequest_timeout_ms = 2.5\n",
         "test.toml:2: [control] request_timeout_ms: must be an integer"},
        {"[dicom]\nlisten = 104\n", "test.toml:2: [dicom] listen: must be a string"},
        {"[dicom]\nallowed_calling_aes = \"PACS\"\n",
         "test.toml:2: [dicom] allowed_calling_aes: must be a list of strings"},
        {"[dicom]\nallowed_calling_aes = [\"PACS\", 7]\n",
         "test.toml:2: [dicom] allowed_calling_aes: must be a list of strings"},
        {"[media]\nallow_image_files = \"yes\"\n",
         "test.toml:2: [media] allow_image_files: must be true or false"},
        {"[roles]\nsecurity = \"uid:0\"\n",
         "test.toml:2: [roles] security: must be a list of strings"},
        {"[audit]\ncheckpoint_every = \"5\"\n",
         "test.toml:2: [audit] checkpoint_every: must be an integer"},
        {"state_dir = \"/x\"\ndicom = 3\n", "test.toml:2: dicom: must be a table ([dicom])"},
    }));
    CAPTURE(toml);
    CHECK(configErrorOf(toml) == expected);
}

TEST_CASE("an empty path is refused", "[config]") {
    const auto [toml, expected] = GENERATE(table<std::string, std::string>({
        {"state_dir = \"\"\n", "test.toml:1: state_dir: must not be empty"},
        {"key_file = \"\"\n", "test.toml:1: key_file: must not be empty"},
        {"[control]\nsocket = \"\"\n", "test.toml:2: [control] socket: must not be empty"},
        {"[links]\ntls_cert = \"\"\n", "test.toml:2: [links] tls_cert: must not be empty"},
        {"[links]\ntls_key = \"\"\n", "test.toml:2: [links] tls_key: must not be empty"},
    }));
    CAPTURE(toml);
    CHECK(configErrorOf(toml) == expected);
}

TEST_CASE("an integer outside its range is refused, naming the allowed range", "[config]") {
    const auto [section, key, value, range] =
        GENERATE(table<std::string, std::string, long long, std::string>({
            {"control", "max_request_bytes", 1023, "1024..1048576"},
            {"control", "max_request_bytes", 1048577, "1024..1048576"},
            {"control", "request_timeout_ms", 99, "100..600000"},
            {"control", "request_timeout_ms", 600001, "100..600000"},
            {"control", "max_clients", 0, "1..1024"},
            {"control", "max_clients", 1025, "1..1024"},
            {"control", "max_clients", -1, "1..1024"},
            {"dicom", "max_object_mib", 0, "1..2048"},
            {"dicom", "max_object_mib", 2049, "1..2048"},
            {"audit", "checkpoint_every", 0, "1..1000000"},
            {"audit", "checkpoint_every", 1000001, "1..1000000"},
            {"audit", "checkpoint_every", -4294967295LL, "1..1000000"},
            {"audit", "verify_interval_seconds", 0, "1..86400"},
            {"audit", "verify_interval_seconds", 86401, "1..86400"},
            {"policy", "link_ttl_days_default", 0, "1..365"},
            {"policy", "link_ttl_days_max", 366, "1..365"},
            {"policy", "max_downloads_default", 0, "1..1000"},
            {"policy", "max_downloads_max", 1001, "1..1000"},
            {"policy", "exit_approval_window_minutes", 0, "1..1440"},
            {"policy", "exit_approval_window_minutes", 1441, "1..1440"},
            {"policy", "failed_token_threshold", 0, "1..1000000"},
            {"policy", "failed_token_window_seconds", 86401, "1..86400"},
        }));
    CAPTURE(section, key, value);
    CHECK(configErrorOf("[" + section + "]\n" + key + " = " + std::to_string(value) + "\n") ==
          "test.toml:2: [" + section + "] " + key + ": out of range: " + std::to_string(value) +
              " (allowed " + range + ")");
}

TEST_CASE("integers at the edges of their ranges are accepted", "[config]") {
    const Config lo = parse(
        "[control]\nmax_request_bytes = 1024\nrequest_timeout_ms = 100\nmax_clients = 1\n"
        "[audit]\ncheckpoint_every = 1\n");
    CHECK(lo.control.maxRequestBytes == 1024);
    CHECK(lo.control.requestTimeoutMs == 100);
    CHECK(lo.control.maxClients == 1);
    CHECK(lo.audit.checkpointEvery == 1);
    const Config hi = parse(
        "[control]\nmax_request_bytes = 1048576\nrequest_timeout_ms = 600000\nmax_clients = 1024\n"
        "[audit]\ncheckpoint_every = 1000000\n");
    CHECK(hi.control.maxRequestBytes == 1048576);
    CHECK(hi.control.requestTimeoutMs == 600000);
    CHECK(hi.control.maxClients == 1024);
    CHECK(hi.audit.checkpointEvery == 1000000);
}

TEST_CASE("a malformed listen endpoint is refused", "[config][endpoint]") {
    const std::string text =
        GENERATE(as<std::string>{}, "1.2.3.4", "host:80", "1.2.3.4:70000", "[::1]80", "[zz]:1",
                 ":80", "", "1.2.3.4:", "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4: 80", "1.2.3.4:8o",
                 "1.2.3.4:80:90", "::1:80", "[::1]:65536", "[::1", "[]:80", "1.2.3.4:99999999999",
                 "256.1.1.1:80", "localhost:443");
    CAPTURE(text);
    CHECK_THROWS_AS(sealport::core::parseEndpoint(text), std::invalid_argument);
    for (const std::string section : {"dicom", "links", "console"}) {
        CHECK_THAT(configErrorOf("[" + section + "]\nlisten = \"" + text + "\"\n"),
                   Contains("test.toml:2: [" + section + "] listen: "));
    }
}

TEST_CASE("a well-formed listen endpoint is accepted and prints back the same",
          "[config][endpoint]") {
    const auto [text, host, port] = GENERATE(table<std::string, std::string, std::uint16_t>({
        {"[::1]:0", "::1", 0},
        {"0.0.0.0:0", "0.0.0.0", 0},
        {"127.0.0.1:65535", "127.0.0.1", 65535},
        {"[::]:443", "::", 443},
        {"192.168.10.20:104", "192.168.10.20", 104},
        {"[fe80::1:2]:11112", "fe80::1:2", 11112},
    }));
    CAPTURE(text);
    const Endpoint e = sealport::core::parseEndpoint(text);
    CHECK(e == Endpoint{host, port});
    CHECK(e.toString() == text);
    CHECK(parse("[dicom]\nlisten = \"" + text + "\"\n").dicom.listen == e);
}

TEST_CASE("an invalid AE title is refused", "[config][dicom]") {
    // TOML text of the value, between the quotes.
    const std::string ae = GENERATE(as<std::string>{},
                                    "",                   // empty
                                    "ABCDEFGHIJKLMNOPQ",  // 17 characters
                                    R"(AE\\TITLE)",       // a backslash
                                    "    ",               // only spaces
                                    R"(AE\u0001X)",       // a control character
                                    R"(AE\tX)",           // a tab
                                    R"(AE\u007f)",        // DEL
                                    "PACS\u00e9");        // not ASCII
    CAPTURE(ae);
    CHECK(
        configErrorOf("[dicom]\nae_title = \"" + ae + "\"\n") ==
        "test.toml:2: [dicom] ae_title: must be 1-16 printable ASCII characters without backslash");
    CHECK_THAT(configErrorOf("[dicom]\nallowed_calling_aes = [\"PACS\", \"" + ae + "\"]\n"),
               Contains("test.toml:2: [dicom] allowed_calling_aes: '") &&
                   Contains("is not a valid AE title"));
}

TEST_CASE("AE titles of 1 to 16 printable characters are accepted", "[config][dicom]") {
    const std::string ae = GENERATE(as<std::string>{}, "A", "ABCDEFGHIJKLMNOP", "MY AE", " PACS",
                                    "CT_1-2.3", "~!@#$%^&*()");
    CAPTURE(ae);
    CHECK(parse("[dicom]\nae_title = '" + ae + "'\n").dicom.aeTitle == ae);
    CHECK(parse("[dicom]\nallowed_calling_aes = ['" + ae + "']\n").dicom.allowedCallingAes ==
          std::vector<std::string>{ae});
}

TEST_CASE("public_url must be https", "[config][links]") {
    const std::string url = GENERATE(as<std::string>{}, "http://images.example.org", "https://",
                                     "ftp://images.example.org", "images.example.org", "",
                                     " https://images.example.org");
    CAPTURE(url);
    CHECK(configErrorOf("[links]\npublic_url = \"" + url + "\"\n") ==
          "test.toml:2: [links] public_url: must start with https://");
}

TEST_CASE("roles entries resolve uid:N, gid:N, user:NAME and group:NAME", "[config][roles]") {
    const Config c = parse(
        "[roles]\n"
        "security = [\"uid:0\", \"user:alice\"]\n"
        "operator = [\"group:frontdesk\", \"gid:4294967294\"]\n");
    CHECK(c.roles.security == std::vector<Principal>{uid(0, "uid:0"), uid(1101, "user:alice")});
    CHECK(c.roles.operator_ ==
          std::vector<Principal>{gid(2101, "group:frontdesk"), gid(4294967294U, "gid:4294967294")});
    CHECK(c.roles.auditor.empty());
    CHECK(c.roles.ris.empty());
}

TEST_CASE("a role entry naming an unknown user or group is refused at its line",
          "[config][roles]") {
    const std::string toml =
        "[roles]\n"              // 1
        "security = [\n"         // 2
        "  \"uid:0\",\n"         // 3
        "  \"user:alice\",\n"    // 4
        "  \"user:mallory\",\n"  // 5
        "]\n";
    CHECK(configErrorOf(toml) == "test.toml:5: [roles] security: 'user:mallory': no such user");
    CHECK(configErrorOf("[roles]\nauditor = [\"group:nobody-here\"]\n") ==
          "test.toml:2: [roles] auditor: 'group:nobody-here': no such group");
}

TEST_CASE("a role entry that is not uid:N, gid:N, user:NAME or group:NAME is refused",
          "[config][roles]") {
    const auto [entry, message] = GENERATE(table<std::string, std::string>({
        {"uid:abc", "'uid:abc': not a numeric id"},
        {"uid:", "'uid:': not a numeric id"},
        {"uid:-1", "'uid:-1': not a numeric id"},
        {"uid:12x", "'uid:12x': not a numeric id"},
        {"uid: 1", "'uid: 1': not a numeric id"},
        {"gid:4294967296", "'gid:4294967296': not a numeric id"},
        {"bob", "'bob' must be uid:N, gid:N, user:NAME or group:NAME"},
        {"", "'' must be uid:N, gid:N, user:NAME or group:NAME"},
        {"host:alice", "'host:alice' must be uid:N, gid:N, user:NAME or group:NAME"},
        {"UID:1", "'UID:1' must be uid:N, gid:N, user:NAME or group:NAME"},
        {"user:", "'user:': no such user"},
    }));
    CAPTURE(entry);
    CHECK(configErrorOf("[roles]\nris = [\"" + entry + "\"]\n") ==
          "test.toml:2: [roles] ris: " + message);
}

TEST_CASE("a TOML syntax error is a ConfigError that names the line", "[config]") {
    const std::string toml =
        "state_dir = \"/srv/sp\"\n"  // 1
        "[dicom]\n"                  // 2
        "ae_title = \"SP\n";         // 3: unterminated string
    const std::string message = configErrorOf(toml);
    CHECK_THAT(message, Contains("test.toml:3: TOML syntax error"));

    CHECK_THAT(configErrorOf("[dicom\nae_title = \"SP\"\n"),
               Contains("test.toml:1: TOML syntax error"));
    // A key defined twice is not a last-one-wins override.
    CHECK_THAT(configErrorOf("[dicom]\nae_title = \"A\"\nae_title = \"B\"\n"),
               Contains("test.toml:"));
}

TEST_CASE("describe() prints a configuration that parses back to the same values",
          "[config][describe]") {
    SECTION("a full configuration") {
        const Config original = parse(kFullConfig);
        const std::string text = sealport::core::describe(original);
        CAPTURE(text);
        const Config again = parse(text);
        requireSameConfig(original, again);
        // user:/group: entries are printed resolved, as the ids they grant.
        CHECK_THAT(text, Contains("security = [\"uid:1001\", \"uid:1101\"]"));
        CHECK_THAT(text, Contains("operator = [\"gid:2001\", \"gid:2101\"]"));
    }
    SECTION("the embedded defaults") {
        const Config original =
            sealport::core::defaultConfig(Environment{"/var/lib/sp", "/run/sp"});
        requireSameConfig(original, parse(sealport::core::describe(original)));
    }
    SECTION("quotes and backslashes in values") {
        const Config original = parse(R"(state_dir = "/srv/a \"quoted\" dir\\x")"
                                      "\n"
                                      R"([dicom])"
                                      "\n"
                                      R"(ae_title = "it's \"AE\"")"
                                      "\n");
        CHECK(original.stateDir == R"(/srv/a "quoted" dir\x)");
        requireSameConfig(original, parse(sealport::core::describe(original)));
    }
}

TEST_CASE("describe() escapes control characters so its output parses back",
          "[config][describe][bug]") {
    // TOML basic strings may not hold a raw newline; a path that contains one
    // (written "\n" in the file) must come back out escaped.
    const Config original =
        parse("state_dir = \"/srv/line\\nbreak\"\nkey_file = \"/k\\u0001ey\"\n");
    REQUIRE(original.stateDir == "/srv/line\nbreak");
    const std::string text = sealport::core::describe(original);
    CAPTURE(text);
    Config again;
    REQUIRE_NOTHROW(again = parse(text));
    requireSameConfig(original, again);
}

TEST_CASE("links can never be an incident export channel", "[config][policy]") {
    CHECK(
        configErrorOf("[policy]\nincident_export_channels = [\"media\", \"link\"]\n") ==
        "test.toml:2: [policy] incident_export_channels: links are never served in incident mode; "
        "only \"media\" is allowed");
}

TEST_CASE("an unknown export channel is refused at its line", "[config][policy]") {
    CHECK(configErrorOf("[policy]\nonline_export_channels = [\n  \"link\",\n  \"email\"\n]\n") ==
          "test.toml:4: [policy] online_export_channels: 'email' is not a channel (link, media)");
}

TEST_CASE("export channels may be emptied and duplicates collapse", "[config][policy]") {
    using sealport::policy::Channel;
    const Config c = parse(
        "[policy]\nonline_export_channels = [\"media\", \"media\"]\n"
        "incident_export_channels = []\n");
    CHECK(c.policy.onlineChannels == std::vector<Channel>{Channel::media});
    CHECK(c.policy.incidentChannels.empty());
}

TEST_CASE("an invalid incident AE title is refused", "[config][policy]") {
    CHECK(configErrorOf(
              "[policy]\nincident_allowed_calling_aes = [\"OK\", \"ABCDEFGHIJKLMNOPQ\"]\n") ==
          "test.toml:2: [policy] incident_allowed_calling_aes: 'ABCDEFGHIJKLMNOPQ' is not a valid "
          "AE title");
}

TEST_CASE("a default above its maximum is refused", "[config][policy]") {
    CHECK(configErrorOf("[policy]\nlink_ttl_days_default = 20\nlink_ttl_days_max = 10\n") ==
          "test.toml:2: [policy] link_ttl_days_default: must not exceed link_ttl_days_max (10)");
    CHECK(configErrorOf("[policy]\nmax_downloads_default = 11\n") ==
          "test.toml:2: [policy] max_downloads_default: must not exceed max_downloads_max (10)");
}

TEST_CASE("a maximum set below the default is refused at the line that set it",
          "[config][policy][bug]") {
    // Only the maximum is written; the error must point at it, with its line,
    // like every other configuration error.
    const std::string message = configErrorOf("[policy]\n\nlink_ttl_days_max = 5\n");
    CHECK_THAT(message, Contains("test.toml:3: [policy] link_ttl_days_max"));
    const std::string downloads = configErrorOf("[policy]\nmax_downloads_max = 2\n");
    CHECK_THAT(downloads, Contains("test.toml:2: [policy] max_downloads_max"));
}

TEST_CASE("loadConfigFile names the file in its errors", "[config]") {
    sealport::coretest::ScratchDir dir;
    const auto path = dir / "sealport.toml";
    sealport::coretest::writeFileText(path, "state_dir = \"/srv/sp\"\n[dicom]\nae_title = \"\"\n");
    CHECK_THROWS_WITH(sealport::core::loadConfigFile(path, Environment{}),
                      path.string() +
                          ":3: [dicom] ae_title: must be 1-16 printable ASCII characters "
                          "without backslash");
    CHECK_THROWS_WITH(sealport::core::loadConfigFile(dir / "absent.toml", Environment{}),
                      (dir / "absent.toml").string() + ": cannot open configuration file");
}

TEST_CASE("loadConfigFile reads a configuration from disk", "[config]") {
    sealport::coretest::ScratchDir dir;
    const auto path = dir / "sealport.toml";
    sealport::coretest::writeFileText(path,
                                      "state_dir = \"/srv/sp\"\n[roles]\nsecurity = [\"uid:0\"]\n");
    const Config c = sealport::core::loadConfigFile(path, Environment{});
    CHECK(c.stateDir == "/srv/sp");
    CHECK(c.roles.security == std::vector<Principal>{uid(0, "uid:0")});
}

TEST_CASE("[links] needs both tls_cert and tls_key or neither, and public_url has no path", "[config]") {
    CHECK(configErrorOf("[links]\ntls_cert = \"/etc/sealport/tls.crt\"\n") ==
          "test.toml:2: [links] tls_cert: needs tls_key too (both, or neither: links off)");
    CHECK(configErrorOf("[links]\ntls_key = \"/etc/sealport/tls.key\"\n") ==
          "test.toml:2: [links] tls_key: needs tls_cert too (both, or neither: links off)");
    CHECK(configErrorOf("[links]\npublic_url = \"https://example.org/images\"\n") ==
          "test.toml:2: [links] public_url: must be https://host[:port] without a path (links are served at /s/...)");
    CHECK(parse("[links]\npublic_url = \"https://example.org/\"\n").links.publicUrl == "https://example.org/");
}
