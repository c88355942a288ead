#include "sealport/core/keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sealport/core/crypto.hpp"
#include "sealport/core/files.hpp"
#include "sealport/core/handles.hpp"

namespace sealport::core {
namespace {

constexpr std::string_view kHkdfSalt = "sealport master key v1";

std::string errnoText(int err) { return std::strerror(err); }

}  // namespace

SecretBytes parseMasterKey(std::span<const std::uint8_t> content) {
    if (content.size() == kMasterKeySize) return SecretBytes(content);
    std::size_t n = content.size();
    while (n > 0 && (content[n - 1] == '\n' || content[n - 1] == '\r')) --n;
    if (n == 2 * kMasterKeySize) {
        std::string_view hex(reinterpret_cast<const char*>(content.data()), n);
        try {
            Bytes raw = fromHex(hex);
            SecretBytes key(raw);
            std::fill(raw.begin(), raw.end(), std::uint8_t{0});
            return key;
        } catch (const std::invalid_argument&) {
            throw KeyError("the master key file holds 64 characters that are not all hex digits");
        }
    }
    throw KeyError("the master key file must hold exactly 32 random bytes or 64 hex digits, not " +
                   std::to_string(content.size()) + " bytes");
}

SecretBytes readMasterKeyFile(const std::filesystem::path& path, uid_t expectedOwner) {
    // O_NONBLOCK: a FIFO planted at the path must not hang the start; it is refused below.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        const int err = errno;
        if (err == ELOOP)
            throw KeyError("refusing master key file " + path.string() + ": it is a symlink");
        throw KeyError("cannot open master key file " + path.string() + ": " + errnoText(err) +
                       " (create one with: sealportd --generate-key FILE)");
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0)
        throw KeyError("cannot stat master key file " + path.string() + ": " + errnoText(errno));
    if (!S_ISREG(st.st_mode))
        throw KeyError("refusing master key file " + path.string() + ": not a regular file");
    if (st.st_uid != expectedOwner)
        throw KeyError("refusing master key file " + path.string() + ": owned by uid " +
                       std::to_string(st.st_uid) + ", not by the daemon's uid " +
                       std::to_string(expectedOwner));
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        throw KeyError("refusing master key file " + path.string() +
                       ": readable or writable by group or others (chmod 0600 it)");
    if (st.st_size > 256)
        throw KeyError("refusing master key file " + path.string() + ": too large to be a key");

    std::vector<std::uint8_t> buf(static_cast<std::size_t>(st.st_size) + 1);
    const std::size_t got = readAll(fd.get(), buf);
    SecretBytes key = parseMasterKey(std::span<const std::uint8_t>(buf.data(), got));
    std::fill(buf.begin(), buf.end(), std::uint8_t{0});
    return key;
}

std::filesystem::path masterKeyPath(const std::optional<std::filesystem::path>& keyFile,
                                    const char* credentialsDirectory) {
    if (keyFile) return *keyFile;
    if (credentialsDirectory != nullptr && *credentialsDirectory != '\0')
        return std::filesystem::path(credentialsDirectory) / "sealport.key";
    throw KeyError(
        "no master key: set key_file in the configuration or pass the systemd credential "
        "sealport.key (LoadCredential=); create a key with: sealportd --generate-key FILE");
}

void generateKeyFile(const std::filesystem::path& path) {
    SecretBytes key(kMasterKeySize);
    randomBytes(std::span<std::uint8_t>(key.data(), key.size()));
    UniqueFd fd(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR));
    if (!fd)
        throw KeyError("cannot create key file " + path.string() + ": " + errnoText(errno) +
                       (errno == EEXIST ? " (refusing to overwrite an existing key)" : ""));
    if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0)
        throw KeyError("cannot set the mode of " + path.string() + ": " + errnoText(errno));
    writeAll(fd.get(), key.bytes());
    if (::fsync(fd.get()) != 0)
        throw KeyError("cannot fsync " + path.string() + ": " + errnoText(errno));
    fsyncDirectory(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

KeyRing deriveKeyRing(const SecretBytes& master) {
    if (master.size() != kMasterKeySize) throw KeyError("the master key must be 32 bytes");
    auto derive = [&](std::string_view label) {
        return hkdfSha256(master.bytes(), asBytes(kHkdfSalt), asBytes(label), 32);
    };
    return KeyRing{derive("sealport/database/v1"), derive("sealport/blobs/v1"),
                   derive("sealport/signing/ed25519/v1")};
}

}  // namespace sealport::core
