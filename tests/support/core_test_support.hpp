#pragma once

// Helpers shared by the core and state tests: a fresh temporary directory per
// test, and byte-level file access that does not go through the code under test.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sealport::coretest {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at scope exit.
class ScratchDir {
  public:
    explicit ScratchDir(const std::string& prefix = "sealport-core-test") {
        std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (::mkdtemp(tmpl.data()) == nullptr)
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        path_ = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
        return path_ / name;
    }

  private:
    std::filesystem::path path_;
};

inline std::vector<std::uint8_t> bytesOf(std::string_view s) {
    return std::vector<std::uint8_t>(s.begin(), s.end());
}

// Reads a whole file with plain POSIX calls.
inline std::vector<std::uint8_t> readFileBytes(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "open " + path.string());
    std::vector<std::uint8_t> out;
    std::uint8_t buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int err = errno;
            ::close(fd);
            throw std::system_error(err, std::generic_category(), "read " + path.string());
        }
        if (n == 0)
            break;
        out.insert(out.end(), buf, buf + n);
    }
    ::close(fd);
    return out;
}

// Creates (or truncates) `path` with exactly `mode`, whatever the umask.
inline void writeFileBytes(const std::filesystem::path& path, std::span<const std::uint8_t> data,
                           mode_t mode = 0600) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "create " + path.string());
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int err = errno;
            ::close(fd);
            throw std::system_error(err, std::generic_category(), "write " + path.string());
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, mode) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "fchmod " + path.string());
    }
    ::close(fd);
}

inline void writeFileText(const std::filesystem::path& path, std::string_view text,
                          mode_t mode = 0600) {
    const auto bytes = bytesOf(text);
    writeFileBytes(path, bytes, mode);
}

// Permission bits (including setuid/setgid/sticky) of `path` itself, not following symlinks.
inline mode_t modeOf(const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        throw std::system_error(errno, std::generic_category(), "lstat " + path.string());
    return st.st_mode & 07777;
}

inline bool containsBytes(std::span<const std::uint8_t> haystack,
                          std::span<const std::uint8_t> needle) {
    if (needle.empty())
        return true;
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

// The UTF-16 forms of an ASCII string, as SQLite would store it in a UTF-16 database.
inline std::vector<std::uint8_t> utf16le(std::string_view ascii) {
    std::vector<std::uint8_t> out;
    for (char c : ascii) {
        out.push_back(static_cast<std::uint8_t>(c));
        out.push_back(0);
    }
    return out;
}

inline std::vector<std::uint8_t> utf16be(std::string_view ascii) {
    std::vector<std::uint8_t> out;
    for (char c : ascii) {
        out.push_back(0);
        out.push_back(static_cast<std::uint8_t>(c));
    }
    return out;
}

// True when the file holds `text` as UTF-8, UTF-16LE or UTF-16BE.
inline bool fileContainsText(const std::filesystem::path& path, std::string_view text) {
    const auto data = readFileBytes(path);
    return containsBytes(data, bytesOf(text)) || containsBytes(data, utf16le(text)) ||
           containsBytes(data, utf16be(text));
}

// Names of the entries of `dir`, sorted.
inline std::vector<std::string> listDirectory(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace sealport::coretest
