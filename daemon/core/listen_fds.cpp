#include "sealport/core/listen_fds.hpp"

#include <fcntl.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "sealport/core/log.hpp"

namespace sealport::core {

ListenFds ListenFds::fromSystemd() {
    ListenFds out;
    char** names = nullptr;
    const int n = sd_listen_fds_with_names(1, &names);
    if (n <= 0) return out;
    for (int i = 0; i < n; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
        std::string name = names != nullptr && names[i] != nullptr ? names[i] : "unknown";
        if (out.fds_.count(name) != 0) {
            log::warning("socket activation passed two sockets named '" + name + "'; closing one");
            UniqueFd drop(fd);
        } else {
            out.fds_.emplace(std::move(name), UniqueFd(fd));
        }
    }
    if (names != nullptr) {
        for (int i = 0; i < n; ++i) std::free(names[i]);
        std::free(names);
    }
    return out;
}

UniqueFd ListenFds::take(const std::string& name) {
    auto it = fds_.find(name);
    if (it == fds_.end()) return UniqueFd();
    UniqueFd fd = std::move(it->second);
    fds_.erase(it);
    return fd;
}

std::vector<std::string> ListenFds::untaken() const {
    std::vector<std::string> out;
    for (const auto& [name, fd] : fds_)
        if (fd) out.push_back(name);
    return out;
}

}  // namespace sealport::core
