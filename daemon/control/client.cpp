#include "sealport/control/client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sealport/control/protocol.hpp"
#include "sealport/core/handles.hpp"

namespace sealport::control {
namespace {

constexpr std::size_t kMaxResponse = 64U * 1024U * 1024U;

void sendAll(int fd, const std::vector<std::uint8_t>& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw ClientError(std::string("cannot send to sealportd: ") + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
}

void recvAll(int fd, std::uint8_t* out, std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::recv(fd, out + got, size - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw ClientError("sealportd did not answer in time");
            throw ClientError(std::string("cannot read from sealportd: ") + std::strerror(errno));
        }
        if (n == 0) throw ClientError("sealportd closed the connection without an answer");
        got += static_cast<std::size_t>(n);
    }
}

}  // namespace

nlohmann::json callDaemon(const std::filesystem::path& socketPath, const std::string& command,
                          const nlohmann::json& args, std::chrono::milliseconds timeout) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string p = socketPath.string();
    if (p.size() >= sizeof addr.sun_path) throw ClientError("socket path too long: " + p);
    std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);

    core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw ClientError(std::string("socket: ") + std::strerror(errno));
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        throw ClientError("cannot connect to sealportd at " + p + ": " + std::strerror(err) +
                          (err == ENOENT || err == ECONNREFUSED ? " (is sealportd running?)" : ""));
    }
    const nlohmann::json request{{"command", command}, {"args", args}};
    sendAll(fd.get(), encodeFrame(request.dump()));

    std::array<std::uint8_t, kFrameHeaderSize> header{};
    recvAll(fd.get(), header.data(), header.size());
    auto decoded = decodeFrameHeader(header, kMaxResponse);
    if (auto* err = std::get_if<FrameHeaderError>(&decoded))
        throw ClientError("bad answer from sealportd: " + err->message);
    std::string body(std::get<std::size_t>(decoded), '\0');
    recvAll(fd.get(), reinterpret_cast<std::uint8_t*>(body.data()), body.size());
    nlohmann::json response = nlohmann::json::parse(body, nullptr, false);
    if (response.is_discarded() || !response.is_object() || !response.contains("ok"))
        throw ClientError("bad answer from sealportd: not a response object");
    return response;
}

}  // namespace sealport::control
