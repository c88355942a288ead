#pragma once

#include <map>
#include <string>
#include <vector>

#include "sealport/core/handles.hpp"

namespace sealport::core {

// Sockets passed by systemd socket activation (LISTEN_FDS/LISTEN_FDNAMES),
// taken once at start and keyed by FileDescriptorName= ("control", "https",
// "dicom", "console"). The environment variables are cleared after reading.
class ListenFds {
public:
    static ListenFds fromSystemd();
    // Removes and returns the socket named `name`, or an invalid fd.
    UniqueFd take(const std::string& name);
    [[nodiscard]] std::size_t size() const noexcept { return fds_.size(); }
    // The names of the sockets nobody took (a unit with a misspelt
    // FileDescriptorName=, or a listener that is switched off).
    [[nodiscard]] std::vector<std::string> untaken() const;

private:
    std::map<std::string, UniqueFd> fds_;
};

}  // namespace sealport::core
