// Fuzzes the parsers of master key material: parseMasterKey (the content of a
// key file or systemd credential: 32 raw bytes, or 64 hex digits with optional
// trailing newlines) and fromHex, which it uses.
//
// KeyError and std::invalid_argument are the expected refusals; any other
// exception escaping is reported by libFuzzer as a crash.

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>

#include "sealport/core/crypto.hpp"
#include "sealport/core/keys.hpp"

namespace {

namespace core = sealport::core;

void require(bool condition) {
    if (!condition) __builtin_trap();
}

bool isHexDigit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> content(data, size);
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    try {
        const core::SecretBytes key = core::parseMasterKey(content);
        require(key.size() == core::kMasterKeySize);
        // 32 bytes are taken as they are; anything else was hex and decodes the same way.
        if (size == core::kMasterKeySize) {
            require(key.equals(content));
        } else {
            const core::Bytes raw = core::fromHex(text.substr(0, 2 * core::kMasterKeySize));
            require(key.equals(raw));
            for (std::size_t i = 2 * core::kMasterKeySize; i < size; ++i)
                require(text[i] == '\n' || text[i] == '\r');
        }
    } catch (const core::KeyError& e) {
        require(*e.what() != '\0');
    }

    try {
        const core::Bytes raw = core::fromHex(text);
        require(raw.size() * 2 == size);
        for (char c : text) require(isHexDigit(c));
        // toHex writes lowercase; it must decode to the same bytes.
        require(core::fromHex(core::toHex(raw)) == raw);
    } catch (const std::invalid_argument& e) {
        require(*e.what() != '\0');
    }
    return 0;
}
