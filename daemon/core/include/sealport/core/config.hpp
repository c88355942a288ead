#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <istream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sealport/policy/settings.hpp"

namespace sealport::core {

// A configuration error. The message names the file, line and key.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "host:port"; port 0 means "any free port" and the real one is reported in status.
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    [[nodiscard]] std::string toString() const;
    bool operator==(const Endpoint&) const = default;
};

// One entry of a [roles] list, resolved at load time.
struct Principal {
    enum class Kind { uid, gid };
    Kind kind = Kind::uid;
    std::uint32_t id = 0;
    std::string text;  // as written, for messages
    bool operator==(const Principal&) const = default;
};

struct ControlConfig {
    std::filesystem::path socket;
    std::size_t maxRequestBytes = 64 * 1024;
    unsigned requestTimeoutMs = 5000;
    unsigned maxClients = 32;
};

struct DicomConfig {
    Endpoint listen{"0.0.0.0", 11112};
    std::string aeTitle = "SEALPORT";
    std::vector<std::string> allowedCallingAes;  // empty: nothing accepted
    // The largest object accepted, over the network or from a file: a larger
    // one is refused (0xC000) and not kept, even while it arrives.
    std::uint64_t maxObjectMiB = 2048;
};

struct LinksConfig {
    Endpoint listen{"0.0.0.0", 8443};
    std::string publicUrl = "https://localhost:8443";
    std::optional<std::filesystem::path> tlsCert;
    std::optional<std::filesystem::path> tlsKey;
};

struct ConsoleConfig {
    Endpoint listen{"127.0.0.1", 8444};
};

struct MediaConfig {
    bool allowImageFiles = false;  // demo and tests only
};

struct RolesConfig {
    std::vector<Principal> security;
    std::vector<Principal> operator_;
    std::vector<Principal> auditor;
    std::vector<Principal> ris;
};

struct AuditConfig {
    unsigned checkpointEvery = 64;         // entries between signed checkpoints
    unsigned verifyIntervalSeconds = 300;  // the audit-chain tripwire's period
};

// The whole configuration as a validated value.
struct Config {
    std::filesystem::path stateDir;
    std::optional<std::filesystem::path> keyFile;
    ControlConfig control;
    DicomConfig dicom;
    LinksConfig links;
    ConsoleConfig console;
    MediaConfig media;
    RolesConfig roles;
    AuditConfig audit;
    // [policy]; its onlineCallingAes mirrors [dicom] allowed_calling_aes.
    policy::Settings policy;
};

// Where things go when the configuration does not say: $STATE_DIRECTORY and
// $RUNTIME_DIRECTORY under systemd, else ./var.
struct Environment {
    const char* stateDirectory = nullptr;
    const char* runtimeDirectory = nullptr;
    static Environment fromProcess();
};

// Looks up user and group names for [roles]. Replaceable in tests.
struct NameResolver {
    virtual ~NameResolver() = default;
    virtual std::optional<std::uint32_t> uidOf(const std::string& user) const;
    virtual std::optional<std::uint32_t> gidOf(const std::string& group) const;
};

Config defaultConfig(const Environment& env);

// Parses TOML from `in`. Unknown keys, wrong types and out-of-range values
// throw ConfigError naming `sourceName`, the line and the key.
Config parseConfig(std::istream& in, const std::string& sourceName, const Environment& env,
                   const NameResolver& names = NameResolver{});
Config loadConfigFile(const std::filesystem::path& path, const Environment& env);

// The effective configuration as TOML, for `sealportd --check-config`.
std::string describe(const Config& config);

Endpoint parseEndpoint(const std::string& text);  // throws std::invalid_argument

}  // namespace sealport::core
