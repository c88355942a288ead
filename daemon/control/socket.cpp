#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "sealport/control/server.hpp"

namespace sealport::control {
namespace {

[[noreturn]] void throwErrno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

core::UniqueFd bindControlSocket(const std::filesystem::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string p = path.string();
    if (p.empty() || p.size() >= sizeof addr.sun_path)
        throw std::runtime_error("control socket path is empty or too long: " + p);
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);

    struct stat st{};
    if (::lstat(p.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw std::runtime_error("refusing to replace " + p + ": it is not a socket");
        if (st.st_uid != ::geteuid())
            throw std::runtime_error("refusing to replace " + p + ": owned by another user");
        if (::unlink(p.c_str()) != 0) throwErrno("remove stale socket " + p);
    } else if (errno != ENOENT) {
        throwErrno("stat " + p);
    }

    core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throwErrno("socket");
    // The socket's mode comes from the umask at bind(); 0117 gives 0660.
    const mode_t old = ::umask(0117);
    const int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int err = errno;
    ::umask(old);
    if (rc != 0) {
        errno = err;
        throwErrno("bind " + p);
    }
    if (::listen(fd.get(), 64) != 0) throwErrno("listen " + p);
    if (::lstat(p.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || (st.st_mode & 0777) != 0660)
        throw std::runtime_error("control socket " + p + " was not created with mode 0660");
    return fd;
}

PeerCredentials peerCredentials(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) throwErrno("SO_PEERCRED");
    PeerCredentials p{cred.uid, cred.gid, cred.pid, {}};
    std::vector<gid_t> groups(16);
    for (;;) {
        socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
            groups.resize(glen / sizeof(gid_t));
            break;
        }
        if (errno != ERANGE || groups.size() > 65536) throwErrno("SO_PEERGROUPS");
        groups.resize(std::max<std::size_t>(groups.size() * 2, glen / sizeof(gid_t)));
    }
    p.groups.assign(groups.begin(), groups.end());
    return p;
}

}  // namespace sealport::control
