// Fuzzes parseConfig, the TOML configuration parser (toml11 underneath).
//
// Properties checked:
//  - ConfigError is the only exception that leaves parseConfig: the daemon's
//    start-up reports ConfigError with file and line, anything else would be an
//    unexplained abort;
//  - a configuration that parses is described by describe() as TOML that parses
//    again to the same description (what `sealportd --check-config` prints can be
//    used as a configuration file).
// [roles] user:NAME and group:NAME resolve to nothing here: a fuzzer must not
// make NSS lookups (slow, and not reproducible from one machine to the next).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <sstream>
#include <string>

#include "sealport/core/config.hpp"

namespace {

namespace core = sealport::core;

struct NoNames final : core::NameResolver {
    std::optional<std::uint32_t> uidOf(const std::string&) const override { return std::nullopt; }
    std::optional<std::uint32_t> gidOf(const std::string&) const override { return std::nullopt; }
};

[[noreturn]] void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "config_fuzz: %s\n%s\n", what, detail.c_str());
    __builtin_trap();
}

// Parses `text`; nullopt on ConfigError, a trap on any other exception.
std::optional<core::Config> parse(const std::string& text, const std::string& source,
                                  std::string& error) {
    std::istringstream in(text);
    const NoNames names;
    try {
        return core::parseConfig(in, source, core::Environment{}, names);
    } catch (const core::ConfigError& e) {
        error = e.what();
        return std::nullopt;
    } catch (const std::exception& e) {
        fail("an exception other than ConfigError escaped parseConfig:", e.what());
    } catch (...) {
        fail("a non-std exception escaped parseConfig", "");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::string error;
    const auto config = parse(text, "fuzz.toml", error);
    if (!config) {
        if (error.empty()) fail("ConfigError without a message", "");
        return 0;
    }

    const std::string described = describe(*config);
    const auto again = parse(described, "described.toml", error);
    if (!again) fail("describe() wrote a configuration that does not parse:", error + "\n---\n" + described);
    const std::string describedAgain = describe(*again);
    if (describedAgain != described)
        fail("describe() does not round-trip:", described + "\n--- became ---\n" + describedAgain);
    return 0;
}
