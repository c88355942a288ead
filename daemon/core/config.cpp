#include "sealport/core/config.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <toml.hpp>

#include "sealport/core/utf8.hpp"

namespace sealport::core {
namespace {

using Table = toml::value::table_type;

// Reads one TOML table, remembering which keys were consumed so that every
// key left over is reported as unknown.
class TableReader {
public:
    TableReader(const toml::value& table, std::string section, const std::string& source)
        : table_(table), section_(std::move(section)), source_(source) {}

    [[noreturn]] void fail(const toml::value* at, const std::string& key,
                           const std::string& message) const {
        std::ostringstream out;
        out << source_;
        if (at != nullptr && at->location().line() > 0) out << ":" << at->location().line();
        out << ": " << qualified(key) << ": " << message;
        throw ConfigError(out.str());
    }

    const toml::value* find(const std::string& key) {
        const auto& t = table_.as_table();
        auto it = t.find(key);
        if (it == t.end()) return nullptr;
        seen_.insert(key);
        return &it->second;
    }

    std::optional<std::string> string(const std::string& key) {
        const toml::value* v = find(key);
        if (v == nullptr) return std::nullopt;
        if (!v->is_string()) fail(v, key, "must be a string");
        const std::string& s = v->as_string().str;
        if (std::any_of(s.begin(), s.end(), [](char c) { return c == '\0'; }))
            fail(v, key, "must not contain NUL");
        return s;
    }

    std::optional<std::int64_t> integer(const std::string& key, std::int64_t lo, std::int64_t hi) {
        const toml::value* v = find(key);
        if (v == nullptr) return std::nullopt;
        if (!v->is_integer()) fail(v, key, "must be an integer");
        const std::int64_t n = v->as_integer();
        if (n < lo || n > hi)
            fail(v, key,
                 "out of range: " + std::to_string(n) + " (allowed " + std::to_string(lo) + ".." +
                     std::to_string(hi) + ")");
        return n;
    }

    std::optional<bool> boolean(const std::string& key) {
        const toml::value* v = find(key);
        if (v == nullptr) return std::nullopt;
        if (!v->is_boolean()) fail(v, key, "must be true or false");
        return v->as_boolean();
    }

    std::optional<std::vector<std::pair<std::string, const toml::value*>>> strings(
        const std::string& key) {
        const toml::value* v = find(key);
        if (v == nullptr) return std::nullopt;
        if (!v->is_array()) fail(v, key, "must be a list of strings");
        std::vector<std::pair<std::string, const toml::value*>> out;
        for (const auto& item : v->as_array()) {
            if (!item.is_string()) fail(&item, key, "must be a list of strings");
            out.emplace_back(item.as_string().str, &item);
        }
        return out;
    }

    std::optional<TableReader> subtable(const std::string& key) {
        const toml::value* v = find(key);
        if (v == nullptr) return std::nullopt;
        if (!v->is_table()) fail(v, key, "must be a table ([" + key + "])");
        return TableReader(*v, qualified(key), source_);
    }

    void rejectUnknown() const {
        // Report the unknown key that comes first in the file.
        const toml::value* first = nullptr;
        std::string firstKey;
        for (const auto& [k, v] : table_.as_table()) {
            if (seen_.count(k) != 0) continue;
            if (first == nullptr || v.location().line() < first->location().line()) {
                first = &v;
                firstKey = k;
            }
        }
        if (first != nullptr) fail(first, firstKey, "unknown key");
    }

private:
    std::string qualified(const std::string& key) const {
        return section_.empty() ? key : "[" + section_ + "] " + key;
    }

    const toml::value& table_;
    std::string section_;
    const std::string& source_;
    std::set<std::string> seen_;
};

bool validAeTitle(const std::string& ae) {
    if (ae.empty() || ae.size() > 16) return false;
    bool nonSpace = false;
    for (char c : ae) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7E || c == '\\') return false;
        if (c != ' ') nonSpace = true;
    }
    return nonSpace;
}

Endpoint endpointFrom(TableReader& r, const std::string& key, Endpoint fallback) {
    auto text = r.string(key);
    if (!text) return fallback;
    try {
        return parseEndpoint(*text);
    } catch (const std::invalid_argument& e) {
        r.fail(r.find(key), key, e.what());
    }
}

std::filesystem::path pathFrom(TableReader& r, const std::string& key, const std::string& text) {
    if (text.empty()) r.fail(r.find(key), key, "must not be empty");
    return std::filesystem::path(text);
}

std::vector<Principal> principalsFrom(TableReader& r, const std::string& key,
                                      const NameResolver& names) {
    std::vector<Principal> out;
    auto list = r.strings(key);
    if (!list) return out;
    for (const auto& [text, at] : *list) {
        const auto colon = text.find(':');
        if (colon == std::string::npos)
            r.fail(at, key, "'" + text + "' must be uid:N, gid:N, user:NAME or group:NAME");
        const std::string kind = text.substr(0, colon);
        const std::string rest = text.substr(colon + 1);
        Principal p;
        p.text = text;
        if (kind == "uid" || kind == "gid") {
            std::uint32_t id = 0;
            auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
            if (rest.empty() || ec != std::errc{} || ptr != rest.data() + rest.size())
                r.fail(at, key, "'" + text + "': not a numeric id");
            p.kind = kind == "uid" ? Principal::Kind::uid : Principal::Kind::gid;
            p.id = id;
        } else if (kind == "user") {
            auto uid = names.uidOf(rest);
            if (!uid) r.fail(at, key, "'" + text + "': no such user");
            p.kind = Principal::Kind::uid;
            p.id = *uid;
        } else if (kind == "group") {
            auto gid = names.gidOf(rest);
            if (!gid) r.fail(at, key, "'" + text + "': no such group");
            p.kind = Principal::Kind::gid;
            p.id = *gid;
        } else {
            r.fail(at, key, "'" + text + "' must be uid:N, gid:N, user:NAME or group:NAME");
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::vector<policy::Channel> channelsFrom(TableReader& r, const std::string& key,
                                         std::vector<policy::Channel> fallback) {
    auto list = r.strings(key);
    if (!list) return fallback;
    std::vector<policy::Channel> out;
    for (const auto& [name, at] : *list) {
        policy::Channel ch;
        if (name == "link") ch = policy::Channel::link;
        else if (name == "media") ch = policy::Channel::media;
        else r.fail(at, key, "'" + name + "' is not a channel (link, media)");
        if (std::find(out.begin(), out.end(), ch) == out.end()) out.push_back(ch);
    }
    return out;
}

std::uint32_t u32(std::int64_t v) { return static_cast<std::uint32_t>(v); }

void applyPolicy(TableReader& t, policy::Settings& p) {
    p.onlineChannels = channelsFrom(t, "online_export_channels", p.onlineChannels);
    p.incidentChannels = channelsFrom(t, "incident_export_channels", p.incidentChannels);
    if (std::find(p.incidentChannels.begin(), p.incidentChannels.end(), policy::Channel::link) !=
        p.incidentChannels.end())
        t.fail(t.find("incident_export_channels"), "incident_export_channels",
               "links are never served in incident mode; only \"media\" is allowed");
    if (auto list = t.strings("incident_allowed_calling_aes")) {
        for (const auto& [ae, at] : *list) {
            if (!validAeTitle(ae))
                t.fail(at, "incident_allowed_calling_aes", "'" + ae + "' is not a valid AE title");
            p.incidentCallingAes.push_back(ae);
        }
    }
    // A default above its maximum is blamed on the key the file wrote (the default when both were).
    auto ordered = [&t](const std::string& defKey, std::uint32_t& def, const std::string& maxKey,
                        std::uint32_t& max, std::int64_t hi) {
        if (auto n = t.integer(defKey, 1, hi)) def = u32(*n);
        if (auto n = t.integer(maxKey, 1, hi)) max = u32(*n);
        if (def <= max) return;
        if (const toml::value* at = t.find(defKey))
            t.fail(at, defKey, "must not exceed " + maxKey + " (" + std::to_string(max) + ")");
        t.fail(t.find(maxKey), maxKey, "must not be below " + defKey + " (" + std::to_string(def) + ")");
    };
    ordered("link_ttl_days_default", p.linkTtlDaysDefault, "link_ttl_days_max", p.linkTtlDaysMax, 365);
    ordered("max_downloads_default", p.maxDownloadsDefault, "max_downloads_max", p.maxDownloadsMax, 1000);
    if (auto n = t.integer("exit_approval_window_minutes", 1, 1440))
        p.exitApprovalWindow = std::chrono::minutes(*n);
    if (auto n = t.integer("failed_token_threshold", 1, 1000000)) p.failedTokenThreshold = u32(*n);
    if (auto n = t.integer("failed_token_window_seconds", 1, 86400))
        p.failedTokenWindow = std::chrono::seconds(*n);
    if (auto b = t.boolean("failed_tokens_trip_incident")) p.failedTokensTripIncident = *b;
    if (auto b = t.boolean("revoke_links_on_exit")) p.revokeLinksOnExit = *b;
    t.rejectUnknown();
}

void apply(Config& c, const toml::value& root, const std::string& source, const NameResolver& names) {
    TableReader top(root, "", source);
    if (auto s = top.string("state_dir")) c.stateDir = pathFrom(top, "state_dir", *s);
    if (auto s = top.string("key_file")) c.keyFile = pathFrom(top, "key_file", *s);

    if (auto t = top.subtable("control")) {
        if (auto s = t->string("socket")) c.control.socket = pathFrom(*t, "socket", *s);
        if (auto n = t->integer("max_request_bytes", 1024, 1024 * 1024))
            c.control.maxRequestBytes = static_cast<std::size_t>(*n);
        if (auto n = t->integer("request_timeout_ms", 100, 600000))
            c.control.requestTimeoutMs = static_cast<unsigned>(*n);
        if (auto n = t->integer("max_clients", 1, 1024)) c.control.maxClients = static_cast<unsigned>(*n);
        t->rejectUnknown();
    }
    if (auto t = top.subtable("dicom")) {
        c.dicom.listen = endpointFrom(*t, "listen", c.dicom.listen);
        if (auto s = t->string("ae_title")) {
            if (!validAeTitle(*s))
                t->fail(t->find("ae_title"), "ae_title",
                        "must be 1-16 printable ASCII characters without backslash");
            c.dicom.aeTitle = *s;
        }
        if (auto list = t->strings("allowed_calling_aes")) {
            c.dicom.allowedCallingAes.clear();
            for (const auto& [ae, at] : *list) {
                if (!validAeTitle(ae))
                    t->fail(at, "allowed_calling_aes",
                            "'" + ae + "' is not a valid AE title (1-16 printable ASCII, no backslash)");
                c.dicom.allowedCallingAes.push_back(ae);
            }
        }
        if (auto n = t->integer("max_object_mib", 1, 2048)) c.dicom.maxObjectMiB = static_cast<std::uint64_t>(*n);
        t->rejectUnknown();
    }
    if (auto t = top.subtable("links")) {
        c.links.listen = endpointFrom(*t, "listen", c.links.listen);
        if (auto s = t->string("public_url")) {
            if (s->rfind("https://", 0) != 0 || s->size() <= 8)
                t->fail(t->find("public_url"), "public_url", "must start with https://");
            const auto slash = s->find('/', 8);
            if (slash != std::string::npos && slash + 1 != s->size())
                t->fail(t->find("public_url"), "public_url",
                        "must be https://host[:port] without a path (links are served at /s/...)");
            c.links.publicUrl = *s;
        }
        if (auto s = t->string("tls_cert")) c.links.tlsCert = pathFrom(*t, "tls_cert", *s);
        if (auto s = t->string("tls_key")) c.links.tlsKey = pathFrom(*t, "tls_key", *s);
        if (c.links.tlsCert.has_value() != c.links.tlsKey.has_value()) {
            const char* missing = c.links.tlsCert ? "tls_key" : "tls_cert";
            const char* given = c.links.tlsCert ? "tls_cert" : "tls_key";
            t->fail(t->find(given), given, std::string("needs ") + missing + " too (both, or neither: links off)");
        }
        t->rejectUnknown();
    }
    if (auto t = top.subtable("console")) {
        c.console.listen = endpointFrom(*t, "listen", c.console.listen);
        t->rejectUnknown();
    }
    if (auto t = top.subtable("media")) {
        if (auto b = t->boolean("allow_image_files")) c.media.allowImageFiles = *b;
        t->rejectUnknown();
    }
    if (auto t = top.subtable("roles")) {
        c.roles.security = principalsFrom(*t, "security", names);
        c.roles.operator_ = principalsFrom(*t, "operator", names);
        c.roles.auditor = principalsFrom(*t, "auditor", names);
        c.roles.ris = principalsFrom(*t, "ris", names);
        t->rejectUnknown();
    }
    if (auto t = top.subtable("audit")) {
        if (auto n = t->integer("checkpoint_every", 1, 1000000))
            c.audit.checkpointEvery = static_cast<unsigned>(*n);
        if (auto n = t->integer("verify_interval_seconds", 1, 86400))
            c.audit.verifyIntervalSeconds = static_cast<unsigned>(*n);
        t->rejectUnknown();
    }
    if (auto t = top.subtable("policy")) applyPolicy(*t, c.policy);
    c.policy.onlineCallingAes = c.dicom.allowedCallingAes;
    top.rejectUnknown();
}

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (u < 0x20 || u == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04X", u);
            out += buf;
        } else {
            out.push_back(ch);
        }
    }
    return out + "\"";
}

std::string principalList(const std::vector<Principal>& ps) {
    std::string out = "[";
    for (std::size_t i = 0; i < ps.size(); ++i) {
        if (i != 0) out += ", ";
        const char* prefix = ps[i].kind == Principal::Kind::uid ? "uid:" : "gid:";
        out += quote(prefix + std::to_string(ps[i].id));
    }
    return out + "]";
}

}  // namespace

std::string Endpoint::toString() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Endpoint parseEndpoint(const std::string& text) {
    std::string host;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw std::invalid_argument("'" + text + "' must be HOST:PORT or [IPv6]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        in6_addr a6{};
        if (inet_pton(AF_INET6, host.c_str(), &a6) != 1)
            throw std::invalid_argument("'" + host + "' is not an IPv6 address");
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon)
            throw std::invalid_argument("'" + text + "' must be HOST:PORT or [IPv6]:PORT");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        in_addr a4{};
        if (inet_pton(AF_INET, host.c_str(), &a4) != 1)
            throw std::invalid_argument("'" + host + "' is not an IPv4 address");
    }
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || value > 65535)
        throw std::invalid_argument("'" + port + "' is not a port number (0-65535)");
    return Endpoint{host, static_cast<std::uint16_t>(value)};
}

Environment Environment::fromProcess() {
    // Only systemd's directory hints are read from the environment; never secrets.
    return Environment{std::getenv("STATE_DIRECTORY"), std::getenv("RUNTIME_DIRECTORY")};
}

std::optional<std::uint32_t> NameResolver::uidOf(const std::string& user) const {
    passwd pw{};
    passwd* result = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &result) != 0 || result == nullptr)
        return std::nullopt;
    return pw.pw_uid;
}

std::optional<std::uint32_t> NameResolver::gidOf(const std::string& group) const {
    struct group gr{};
    struct group* result = nullptr;
    std::vector<char> buf(16384);
    if (getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &result) != 0 || result == nullptr)
        return std::nullopt;
    return gr.gr_gid;
}

static std::filesystem::path defaultSocket(const Config& c, const Environment& env) {
    if (env.runtimeDirectory != nullptr && *env.runtimeDirectory != '\0') {
        std::string s(env.runtimeDirectory);
        return std::filesystem::path(s.substr(0, s.find(':'))) / "control.sock";
    }
    return c.stateDir / "control.sock";
}

Config defaultConfig(const Environment& env) {
    Config c;
    // STATE_DIRECTORY may list several directories separated by ':'; the first is ours.
    if (env.stateDirectory != nullptr && *env.stateDirectory != '\0') {
        std::string s(env.stateDirectory);
        c.stateDir = s.substr(0, s.find(':'));
    } else {
        c.stateDir = "var";
    }
    c.control.socket = defaultSocket(c, env);
    return c;
}

// TOML is UTF-8. toml11 3.7 asserts (and without asserts reads out of
// bounds) on some invalid UTF-8 inside literal strings, so the bytes are
// checked first. Returns the 1-based line of the first invalid sequence, or 0.
static std::size_t firstInvalidUtf8Line(const std::string& text) {
    const auto bad = firstInvalidUtf8(text);
    if (!bad) return 0;
    return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<long>(*bad), '\n'));
}

Config parseConfig(std::istream& in, const std::string& sourceName, const Environment& env,
                   const NameResolver& names) {
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (const std::size_t bad = firstInvalidUtf8Line(text))
        throw ConfigError(sourceName + ":" + std::to_string(bad) + ": not valid UTF-8 (TOML files are UTF-8)");
    toml::value root;
    try {
        std::istringstream checked(text);
        root = toml::parse(checked, sourceName);
    } catch (const toml::syntax_error& e) {
        throw ConfigError(sourceName + ":" + std::to_string(e.location().line()) +
                          ": TOML syntax error:\n" + e.what());
    } catch (const std::exception& e) {
        throw ConfigError(sourceName + ": " + e.what());
    }
    Config c = defaultConfig(env);
    c.control.socket.clear();
    apply(c, root, sourceName, names);
    if (c.control.socket.empty()) c.control.socket = defaultSocket(c, env);
    return c;
}

Config loadConfigFile(const std::filesystem::path& path, const Environment& env) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path.string() + ": cannot open configuration file");
    return parseConfig(in, path.string(), env);
}

std::string describe(const Config& c) {
    std::ostringstream o;
    o << "state_dir = " << quote(c.stateDir.string()) << "\n";
    if (c.keyFile) o << "key_file = " << quote(c.keyFile->string()) << "\n";
    o << "\n[control]\nsocket = " << quote(c.control.socket.string()) << "\n"
      << "max_request_bytes = " << c.control.maxRequestBytes << "\n"
      << "request_timeout_ms = " << c.control.requestTimeoutMs << "\n"
      << "max_clients = " << c.control.maxClients << "\n";
    o << "\n[dicom]\nlisten = " << quote(c.dicom.listen.toString()) << "\n"
      << "ae_title = " << quote(c.dicom.aeTitle) << "\nallowed_calling_aes = [";
    for (std::size_t i = 0; i < c.dicom.allowedCallingAes.size(); ++i)
        o << (i ? ", " : "") << quote(c.dicom.allowedCallingAes[i]);
    o << "]\nmax_object_mib = " << c.dicom.maxObjectMiB << "\n";
    o << "\n[links]\nlisten = " << quote(c.links.listen.toString()) << "\n"
      << "public_url = " << quote(c.links.publicUrl) << "\n";
    if (c.links.tlsCert) o << "tls_cert = " << quote(c.links.tlsCert->string()) << "\n";
    if (c.links.tlsKey) o << "tls_key = " << quote(c.links.tlsKey->string()) << "\n";
    o << "\n[console]\nlisten = " << quote(c.console.listen.toString()) << "\n";
    o << "\n[media]\nallow_image_files = " << (c.media.allowImageFiles ? "true" : "false") << "\n";
    o << "\n[roles]\nsecurity = " << principalList(c.roles.security) << "\n"
      << "operator = " << principalList(c.roles.operator_) << "\n"
      << "auditor = " << principalList(c.roles.auditor) << "\n"
      << "ris = " << principalList(c.roles.ris) << "\n";
    o << "\n[audit]\ncheckpoint_every = " << c.audit.checkpointEvery << "\n"
      << "verify_interval_seconds = " << c.audit.verifyIntervalSeconds << "\n";
    const auto& p = c.policy;
    auto channels = [](const std::vector<policy::Channel>& cs) {
        std::string out = "[";
        for (std::size_t i = 0; i < cs.size(); ++i)
            out += (i ? ", " : "") + quote(std::string(policy::toString(cs[i])));
        return out + "]";
    };
    o << "\n[policy]\nonline_export_channels = " << channels(p.onlineChannels) << "\n"
      << "incident_export_channels = " << channels(p.incidentChannels) << "\n"
      << "incident_allowed_calling_aes = [";
    for (std::size_t i = 0; i < p.incidentCallingAes.size(); ++i)
        o << (i ? ", " : "") << quote(p.incidentCallingAes[i]);
    o << "]\n"
      << "link_ttl_days_default = " << p.linkTtlDaysDefault << "\n"
      << "link_ttl_days_max = " << p.linkTtlDaysMax << "\n"
      << "max_downloads_default = " << p.maxDownloadsDefault << "\n"
      << "max_downloads_max = " << p.maxDownloadsMax << "\n"
      << "exit_approval_window_minutes = " << p.exitApprovalWindow.count() << "\n"
      << "failed_token_threshold = " << p.failedTokenThreshold << "\n"
      << "failed_token_window_seconds = " << p.failedTokenWindow.count() << "\n"
      << "failed_tokens_trip_incident = " << (p.failedTokensTripIncident ? "true" : "false") << "\n"
      << "revoke_links_on_exit = " << (p.revokeLinksOnExit ? "true" : "false") << "\n";
    return o.str();
}

}  // namespace sealport::core
