#pragma once

// The HTTPS listener for links (Boost.Beast + OpenSSL, confined to
// https_server.cpp): TLS 1.2 minimum, no compression or renegotiation,
// HTTP/1.1 keep-alive, deadlines on every read and write, header and body
// limits and a cap on connections. Requests are handed to an HttpHandler on a
// worker thread; streamed bodies are pulled chunk by chunk as the client reads.
// When the mode leaves `online`, every connection is closed at once, in-flight
// downloads included.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "sealport/core/config.hpp"
#include "sealport/core/handles.hpp"
#include "sealport/core/mode_gate.hpp"
#include "sealport/links/http.hpp"

namespace sealport::links {

struct HttpsSettings {
    core::Endpoint listen{"0.0.0.0", 8443};
    std::filesystem::path tlsCert;  // PEM chain
    std::filesystem::path tlsKey;   // PEM private key
    unsigned maxConnections = 128;
    unsigned maxRequestsPerConnection = 1000;
    std::size_t headerLimit = 8 * 1024;
    std::size_t bodyLimit = 64 * 1024;
    std::chrono::seconds handshakeTimeout{10};
    std::chrono::seconds idleTimeout{30};   // waiting for (the rest of) a request
    std::chrono::seconds writeTimeout{60};  // a client that stops reading
    std::chrono::seconds shutdownTimeout{5};  // waiting for the client's TLS close_notify
    unsigned networkThreads = 2;
    unsigned workerThreads = 4;
};

class HttpsServer {
public:
    // Loads the certificate and key and binds (or adopts) the listening
    // socket, so port() is known before start(). Throws std::runtime_error
    // naming tls_cert/tls_key when they cannot be loaded or do not match, or
    // when the socket cannot be bound. `activated`: a listening socket passed
    // by systemd (FileDescriptorName=https), else the server binds `listen`.
    // Registers a listener on `gate` that cuts every connection when the mode
    // leaves online; it does nothing once the server has stopped.
    HttpsServer(HttpsSettings settings, HttpHandler handler, core::ModeGate& gate, core::UniqueFd activated = {});
    ~HttpsServer();  // stop()
    HttpsServer(const HttpsServer&) = delete;
    HttpsServer& operator=(const HttpsServer&) = delete;

    // Starts the network threads, the worker pool and accepting.
    void start();
    // Stops accepting, cuts every connection, waits for handlers already
    // running, joins the threads; idempotent. Not to be called from a handler.
    void stop();
    [[nodiscard]] std::uint16_t port() const noexcept;
    // Closes every open connection now (what a change of mode does): TCP reset,
    // no further byte of a download. Any thread; does not block.
    void cutAll();
    [[nodiscard]] unsigned openConnections() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sealport::links
