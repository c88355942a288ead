#include "sealport/core/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "sealport/core/crypto.hpp"
#include "sealport/core/handles.hpp"

namespace sealport::core {
namespace {

[[noreturn]] void throwErrno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

std::size_t readAll(int fd, std::span<std::uint8_t> buf) {
    std::size_t got = 0;
    while (got < buf.size()) {
        const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno("read");
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    return got;
}

void writeAll(int fd, std::span<const std::uint8_t> data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno("write");
        }
        done += static_cast<std::size_t>(n);
    }
}

void fsyncDirectory(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throwErrno("open directory " + dir.string());
    if (::fsync(fd.get()) != 0) throwErrno("fsync directory " + dir.string());
}

void ensurePrivateDirectory(const std::filesystem::path& dir) {
    if (::mkdir(dir.c_str(), S_IRWXU) != 0 && errno != EEXIST) throwErrno("mkdir " + dir.string());
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throwErrno("refusing state directory " + dir.string() + " (symlink or not a directory)");
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) throwErrno("stat " + dir.string());
    if (st.st_uid != ::geteuid())
        throw std::runtime_error("refusing directory " + dir.string() + ": owned by uid " +
                                 std::to_string(st.st_uid) + ", not by the daemon");
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 && ::fchmod(fd.get(), S_IRWXU) != 0)
        throwErrno("chmod 0700 " + dir.string());
}

void writeFileAtomically(const std::filesystem::path& path, std::span<const std::uint8_t> data,
                         unsigned mode) {
    std::uint8_t rnd[8];
    randomBytes(rnd);
    const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    const auto tmp = dir / ("." + path.filename().string() + "." + toHex(rnd) + ".tmp");
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       static_cast<mode_t>(mode)));
    if (!fd) throwErrno("create " + tmp.string());
    try {
        writeAll(fd.get(), data);
        if (::fsync(fd.get()) != 0) throwErrno("fsync " + tmp.string());
        fd.reset();
        if (::rename(tmp.c_str(), path.c_str()) != 0) throwErrno("rename to " + path.string());
    } catch (...) {
        (void)::unlink(tmp.c_str());
        throw;
    }
    fsyncDirectory(dir);
}

}  // namespace sealport::core
