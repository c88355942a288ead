#pragma once

// Plain request and response types between the HTTPS server (Beast, in one
// translation unit) and the link handlers, which are therefore testable
// without a socket.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sealport::links {

struct HttpRequest {
    std::string method;  // "GET", "HEAD", "POST", ...
    std::string target;  // origin-form as received: path and optional query
    std::vector<std::pair<std::string, std::string>> headers;  // names as received
    std::string body;
    std::string remoteAddress;  // IP address of the peer, textual, without port

    // The first header with this name, compared case-insensitively.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

// The bytes of a response body produced while it is sent (a ZIP download).
class BodySource {
public:
    virtual ~BodySource() = default;
    // Fills up to out.size() bytes; returns 0 only at the end. Throws when the
    // body cannot be completed: the server then aborts the connection, so the
    // client never takes a truncated body for a whole one.
    virtual std::size_t next(std::span<std::uint8_t> out) = 0;
};

struct HttpResponse {
    int status = 500;
    std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is set by the server
    std::string body;                                          // used when `stream` is empty
    std::shared_ptr<BodySource> stream;                        // streamed body of exactly streamLength bytes
    std::uint64_t streamLength = 0;
    // Closes the connection after this response (also done on every error status >= 500).
    bool close = false;

    HttpResponse& set(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

// Runs on a worker thread, never on the network threads: it may block on the
// database or build a DICOMDIR.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

}  // namespace sealport::links
