#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "sealport/core/secret.hpp"

namespace sealport::core {

// Raised when the master key cannot be had; the message says what to do.
class KeyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMasterKeySize = 32;

// Reads a master key file: exactly 32 raw bytes, or 64 hex characters with an
// optional trailing newline. Refuses a symlink, anything but a regular file, a
// file not owned by `expectedOwner`, or one readable or writable by group or others.
SecretBytes readMasterKeyFile(const std::filesystem::path& path, uid_t expectedOwner);

// Where the key comes from: `key_file` if set, else
// $CREDENTIALS_DIRECTORY/sealport.key. Throws KeyError naming both when neither exists.
std::filesystem::path masterKeyPath(const std::optional<std::filesystem::path>& keyFile,
                                    const char* credentialsDirectory);

// Parses the bytes of a key file (raw or hex). Throws KeyError.
SecretBytes parseMasterKey(std::span<const std::uint8_t> content);

// Writes 32 fresh random bytes to a new file (O_EXCL, 0600) and fsyncs it and its directory.
void generateKeyFile(const std::filesystem::path& path);

// The subkeys derived from the master key with HKDF-SHA256, one label each,
// so that no key serves two purposes.
struct KeyRing {
    SecretBytes database;  // SQLCipher raw key
    SecretBytes blobs;     // wraps per-blob data keys
    SecretBytes signing;   // Ed25519 seed for audit checkpoints and media manifests
};

KeyRing deriveKeyRing(const SecretBytes& master);

}  // namespace sealport::core
