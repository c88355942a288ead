#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>

#include "sealport/control/dispatcher.hpp"
#include "sealport/core/config.hpp"
#include "sealport/core/handles.hpp"

namespace sealport::control {

// Binds the control socket at `path` with mode 0660. A stale socket left by a
// previous run is replaced; anything else at that path (a file, a symlink) is
// refused.
core::UniqueFd bindControlSocket(const std::filesystem::path& path);

// Reads the peer's credentials from a connected AF_UNIX socket.
PeerCredentials peerCredentials(int fd);

// Accepts connections on the control socket; one request and one response per
// connection, each bounded in size and time. Connections over the cap are closed.
class ControlServer {
public:
    ControlServer(boost::asio::io_context& io, core::UniqueFd listening,
                  const core::ControlConfig& config, const RoleMap& roles,
                  CommandRegistry& commands);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    void start();
    void stop();

    struct Impl;  // opaque; public so that the connection type in server.cpp can name it

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace sealport::control
