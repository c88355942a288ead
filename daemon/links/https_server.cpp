// The only translation unit that sees Boost.Beast/Asio (it is the slowest to
// compile). Shape of the Beast examples: one Session per connection on its own
// strand, a deadline before every operation, a fresh parser per request, and
// handlers that never see a socket (they run on a worker pool and get plain
// HttpRequest/HttpResponse values).

#include "sealport/links/https_server.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#pragma GCC diagnostic pop

#include "sealport/core/log.hpp"

namespace sealport::links {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
namespace log = core::log;

// Mozilla "intermediate" (TLS 1.2 part), without the DHE suites so that no
// dhparam file is needed. TLS 1.3 keeps OpenSSL's default suites, as Mozilla does.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTlsGroups = "X25519:prime256v1:secp384r1";

// One buffer of this size per streaming connection: memory stays flat
// whatever the download size, and the next chunk is produced only once the
// previous one has been written (backpressure).
constexpr std::size_t kChunkSize = 64 * 1024;
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// How long stop() lets the network threads drain after cutting every connection.
constexpr auto kStopDrainLimit = std::chrono::seconds(5);

std::string str(beast::string_view v) {
    return std::string(v.data(), v.size());
}

// The reason of the first queued OpenSSL error, for messages about
// configuration files. Never the file's content.
std::string opensslReason() {
    const unsigned long code = ERR_peek_last_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    ERR_clear_error();
    return reason != nullptr ? reason : "unknown error";
}

// Only HTTP/1.1 is spoken: a client that offers ALPN must offer http/1.1
// (a cross-protocol defence, as in ALPACA's recommendations).
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outLen, const unsigned char* in,
               unsigned inLen, void*) {
    static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outLen, kHttp11, sizeof kHttp11, in, inLen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

void configureTls(ssl::context& tls, const HttpsSettings& settings) {
    SSL_CTX* ctx = tls.native_handle();
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        throw std::runtime_error("TLS: cannot set the minimum protocol version");
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
        throw std::runtime_error("TLS: cipher list rejected: " + opensslReason());
    if (SSL_CTX_set1_groups_list(ctx, kTlsGroups) != 1)
        throw std::runtime_error("TLS: group list rejected: " + opensslReason());
    SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, nullptr);

    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, settings.tlsCert.c_str()) != 1)
        throw std::runtime_error("tls_cert: cannot load the certificate chain from " +
                                 settings.tlsCert.string() + ": " + opensslReason());
    if (SSL_CTX_use_PrivateKey_file(ctx, settings.tlsKey.c_str(), SSL_FILETYPE_PEM) != 1)
        throw std::runtime_error("tls_key: cannot load the private key from " +
                                 settings.tlsKey.string() + ": " + opensslReason());
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        throw std::runtime_error("tls_key: the private key in " + settings.tlsKey.string() +
                                 " does not match the certificate in tls_cert " +
                                 settings.tlsCert.string());
    }
}

// Errors that only say the peer (or our own cut/timeout) ended the
// connection. Logged at debug level, never as failures.
bool peerGone(const beast::error_code& ec) {
    if (ec == net::ssl::error::stream_truncated || ec == net::error::operation_aborted ||
        ec == net::error::bad_descriptor || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::broken_pipe ||
        ec == net::error::not_connected || ec == beast::error::timeout ||
        ec == http::error::end_of_stream || ec == http::error::partial_message)
        return true;
    // OpenSSL 3 reports a missing close_notify as an SSL error of its own.
    return ec.category() == net::error::get_ssl_category() &&
           ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
               SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

std::string statusClass(unsigned status) {
    return std::to_string(status / 100) + "xx";
}

bool isTokenChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0)
        return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool validHeader(const std::string& name, const std::string& value) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), isTokenChar))
        return false;
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// Headers the server owns: framing and connection management.
bool serverOwned(const std::string& name) {
    const auto is = [&](std::string_view n) {
        return name.size() == n.size() &&
               std::equal(name.begin(), name.end(), n.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == b;
               });
    };
    return is("content-length") || is("transfer-encoding") || is("connection") || is("keep-alive");
}

class Session;

// Every live connection, so that a change of mode can reach all of them. It is
// shared with the ModeGate listener, which may outlive the server: once the
// server has stopped, `closed_` turns the listener into a no-op.
class Registry {
  public:
    // False once the server stops: the caller must drop the connection.
    bool add(std::uint64_t id, const std::shared_ptr<Session>& s) {
        std::lock_guard lock(mutex_);
        if (closed_)
            return false;
        sessions_.emplace(id, s);
        count_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    void remove(std::uint64_t id) noexcept {
        std::lock_guard lock(mutex_);
        if (sessions_.erase(id) != 0)
            count_.fetch_sub(1, std::memory_order_relaxed);
    }
    [[nodiscard]] unsigned count() const noexcept { return count_.load(std::memory_order_relaxed); }
    std::uint64_t nextId() noexcept { return nextId_.fetch_add(1, std::memory_order_relaxed); }

    void cutAll() { cut(false); }
    // Cuts everything and refuses later registrations (stop()).
    void close() { cut(true); }

  private:
    void cut(bool andClose);

    mutable std::mutex mutex_;
    bool closed_ = false;
    std::map<std::uint64_t, std::weak_ptr<Session>> sessions_;
    std::atomic<unsigned> count_{0};
    std::atomic<std::uint64_t> nextId_{1};
};

// What every connection needs from the server. Lives as long as the server.
struct ServerCore {
    ServerCore(HttpsSettings s, HttpHandler h, core::ModeGate& g)
        : settings(std::move(s)), handler(std::move(h)), gate(g) {}

    HttpsSettings settings;
    HttpHandler handler;
    core::ModeGate& gate;
    ssl::context tls{ssl::context::tls_server};
    std::shared_ptr<Registry> registry = std::make_shared<Registry>();
    std::atomic<bool> stopping{false};
    net::thread_pool* workers = nullptr;  // set by start(), before the first connection
};

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(ServerCore& server, tcp::socket&& socket, std::string peer)
        : server_(server)
        , registry_(server.registry)
        , id_(server.registry->nextId())
        , executor_(socket.get_executor())
        , stream_(std::move(socket), server.tls)
        , peer_(std::move(peer))
        , buffer_(server.settings.headerLimit + server.settings.bodyLimit + kChunkSize) {}
    ~Session() { registry_->remove(id_); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start() {
        if (!registry_->add(id_, shared_from_this())) {
            beast::get_lowest_layer(stream_).close();
            return;
        }
        net::dispatch(executor_,
                      [self = shared_from_this()] { self->guarded([&] { self->handshake(); }); });
    }

    // Any thread: a hard close on the session's strand. linger(0) makes the
    // kernel drop what is queued and send an RST, so a download stops now
    // rather than after the socket buffers have drained.
    void cut() {
        net::post(executor_, [self = shared_from_this()] { self->abort(); });
    }

  private:
    template <class F>
    void guarded(F&& f) noexcept {
        try {
            f();
        } catch (const std::exception& e) {
            log::error(std::string("https: connection from ") + peer_ + " failed: " + e.what());
            abort();
        } catch (...) {
            log::error("https: connection from " + peer_ + " failed");
            abort();
        }
    }

    auto& lowest() { return beast::get_lowest_layer(stream_); }

    void handshake() {
        lowest().expires_after(server_.settings.handshakeTimeout);
        stream_.async_handshake(ssl::stream_base::server,
                                [self = shared_from_this()](beast::error_code ec) {
                                    self->guarded([&] { self->onHandshake(ec); });
                                });
    }

    void onHandshake(const beast::error_code& ec) {
        if (ec)
            return ended(ec, "handshake");
        readRequest();
    }

    void readRequest() {
        if (closed_)
            return;
        parser_.emplace();  // a parser serves exactly one message
        parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
            server_.settings.headerLimit, std::numeric_limits<std::uint32_t>::max())));
        parser_->body_limit(server_.settings.bodyLimit);
        lowest().expires_after(server_.settings.idleTimeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->guarded([&] { self->onRead(ec); });
                         });
    }

    void onRead(const beast::error_code& ec) {
        if (closed_)
            return;
        if (ec == http::error::header_limit)
            return refuse(http::status::request_header_fields_too_large);
        if (ec == http::error::body_limit)
            return refuse(http::status::payload_too_large);
        if (ec && !peerGone(ec) &&
            ec.category() == http::make_error_code(http::error::bad_method).category())
            return refuse(http::status::bad_request);  // malformed (incl. buffer_overflow)
        if (ec)
            return ended(ec, "read");

        lowest().expires_never();  // the handler's time is not the client's
        auto& message = parser_->get();
        ++served_;
        head_ = message.method() == http::verb::head;
        method_ = str(message.method_string()).substr(0, 16);
        version_ = message.version();
        keepAlive_ = message.keep_alive() && served_ < server_.settings.maxRequestsPerConnection;
        // A mode change after this point aborts a streamed answer to this request.
        generation_ = server_.gate.generation();

        HttpRequest request;
        request.method = str(message.method_string());
        request.target = str(message.target());
        for (const auto& field : message)
            request.headers.emplace_back(str(field.name_string()), str(field.value()));
        request.body = std::move(message.body());
        request.remoteAddress = peer_;
        parser_.reset();

        net::post(*server_.workers, [self = shared_from_this(),
                                     request = std::move(request)]() mutable noexcept {
            HttpResponse response = self->callHandler(request);
            try {
                net::post(self->executor_, [self, response = std::move(response)]() mutable {
                    self->guarded([&] { self->respond(std::move(response)); });
                });
            } catch (...) {
                // Out of memory: the connection is dropped with `self`.
                log::error("https: cannot hand a response back to its connection");
            }
        });
    }

    // On a worker thread.
    HttpResponse callHandler(const HttpRequest& request) noexcept {
        try {
            return server_.handler(request);
        } catch (const std::exception& e) {
            log::error("https: handler failed on " + method_ + " from " + peer_ + " (ref " +
                       reference() + "): " + e.what());
        } catch (...) {
            log::error("https: handler failed on " + method_ + " from " + peer_ + " (ref " +
                       reference() + ")");
        }
        try {
            return internalError();
        } catch (...) {
            return {};
        }
    }

    std::string reference() const { return std::to_string(id_) + "-" + std::to_string(served_); }

    HttpResponse internalError() const {
        HttpResponse r;
        r.status = 500;
        r.close = true;
        r.set("Content-Type", "text/plain; charset=utf-8");
        r.body = "Internal error (ref " + reference() + ").\n";
        return r;
    }

    void respond(HttpResponse response) {
        if (closed_)
            return;
        // The mode left online while the handler ran: its answer may have been
        // decided under the old mode. The cut is on its way; do not race it.
        if (server_.gate.generation() != generation_ && !server_.gate.online())
            return abortStream("the mode changed");
        const bool valid =
            response.status >= 200 && response.status <= 599 &&
            std::all_of(response.headers.begin(), response.headers.end(),
                        [](const auto& h) { return validHeader(h.first, h.second); });
        if (!valid) {
            log::error("https: handler produced an invalid response to " + method_ + " from " +
                       peer_ + " (ref " + reference() + ")");
            response = internalError();
        }
        const auto status = static_cast<unsigned>(response.status);
        keepAlive_ = keepAlive_ && !response.close && status < 500 &&
                     !server_.stopping.load(std::memory_order_acquire);
        status_ = status;
        // RFC 9110 8.6: no Content-Length (and no body) on 204; 304 sends no body either.
        const bool noContent = status == 204 || status == 304;
        const std::uint64_t length = response.stream ? response.streamLength : response.body.size();

        if (head_ || noContent || !response.stream) {
            if (head_ || noContent) {
                auto res = std::make_shared<http::response<http::empty_body>>(
                    static_cast<http::status>(status), version_);
                fillHeaders(*res, response.headers);
                if (!noContent)
                    res->content_length(length);
                write(std::move(res));
            } else {
                auto res = std::make_shared<http::response<http::string_body>>(
                    static_cast<http::status>(status), version_);
                fillHeaders(*res, response.headers);
                res->body() = std::move(response.body);
                res->content_length(length);
                write(std::move(res));
            }
            return;  // HEAD never pulls the stream; it is released here
        }
        startStream(std::move(response));
    }

    template <class Message>
    void fillHeaders(Message& res,
                     const std::vector<std::pair<std::string, std::string>>& headers) {
        for (const auto& [name, value] : headers)
            if (!serverOwned(name))
                res.insert(name, value);
        res.keep_alive(keepAlive_);
    }

    template <class Body>
    void write(std::shared_ptr<http::response<Body>> res) {
        lowest().expires_after(server_.settings.writeTimeout);
        auto& message = *res;
        http::async_write(
            stream_, message,
            [self = shared_from_this(), res = std::move(res)](beast::error_code ec, std::size_t) {
                self->guarded([&] { self->onWritten(ec); });
            });
    }

    void onWritten(const beast::error_code& ec) {
        if (ec)
            return ended(ec, "write");
        logResponse();
        if (keepAlive_ && !server_.stopping.load(std::memory_order_acquire))
            return readRequest();
        shutdown();
    }

    void logResponse() const {
        log::info("https: " + method_ + " " + statusClass(status_) + " " + peer_);
    }

    void startStream(HttpResponse response) {
        if (server_.gate.generation() != generation_)
            return abortStream("the mode changed");
        source_ = std::move(response.stream);
        remaining_ = response.streamLength;
        if (!chunk_)
            chunk_ = std::make_unique<std::array<std::uint8_t, kChunkSize>>();
        streamResponse_.emplace(static_cast<http::status>(status_), version_);
        fillHeaders(*streamResponse_, response.headers);
        // Explicit length: prepare_payload() would switch a buffer_body to chunked.
        streamResponse_->content_length(remaining_);
        streamResponse_->body().data = nullptr;
        streamResponse_->body().more = true;
        serializer_.emplace(*streamResponse_);
        // Until the body is complete, any close is an abort (a cut, a write
        // timeout, a failed source): reset, so that the kernel does not keep
        // megabytes queued for a client that stopped reading.
        resetOnClose(true);
        lowest().expires_after(server_.settings.writeTimeout);
        http::async_write_header(stream_, *serializer_,
                                 [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                     self->guarded([&] { self->onChunkWritten(ec); });
                                 });
    }

    // After each completed write: produce the next chunk, or finish.
    void onChunkWritten(beast::error_code ec) {
        if (ec == http::error::need_buffer)
            ec = {};  // the chunk was consumed: ask for the next
        if (ec)
            return ended(ec, "stream");
        if (closed_)
            return;
        if (serializer_->is_done()) {
            resetOnClose(
                false);  // the last bytes may still be queued: a graceful close must deliver them
            serializer_.reset();
            streamResponse_.reset();
            source_.reset();
            return onWritten({});
        }
        if (server_.gate.generation() != generation_)
            return abortStream("the mode changed");

        auto& body = streamResponse_->body();
        std::size_t n = 0;
        if (remaining_ > 0) {
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(chunk_->size(), remaining_));
            if (!produce(std::span(chunk_->data(), want), n))
                return;
            if (n == 0 || n > want)
                return abortStream("the body ended before its announced length");
            remaining_ -= n;
        }
        bool more = true;
        if (remaining_ == 0) {
            // Before the last byte leaves, make sure the source has nothing more:
            // a longer body means the announced length (and so the body) is wrong.
            std::uint8_t probe = 0;
            std::size_t extra = 0;
            if (!produce(std::span(&probe, 1), extra))
                return;
            if (extra != 0)
                return abortStream("the body is longer than its announced length");
            more = false;
        }
        body.data = n != 0 ? chunk_->data() : nullptr;
        body.size = n;
        body.more = more;
        lowest().expires_after(
            server_.settings.writeTimeout);  // a client that stops reading is dropped
        http::async_write(stream_, *serializer_,
                          [self = shared_from_this()](beast::error_code e, std::size_t) {
                              self->guarded([&] { self->onChunkWritten(e); });
                          });
    }

    bool produce(std::span<std::uint8_t> out, std::size_t& n) {
        try {
            n = source_->next(out);
            return true;
        } catch (const std::exception& e) {
            abortStream(std::string("the body source failed: ") + e.what());
        } catch (...) {
            abortStream("the body source failed");
        }
        return false;
    }

    // The client must never take a truncated body for a whole one: reset the
    // connection instead of completing (or padding) the response.
    void abortStream(const std::string& why) {
        log::warning("https: aborted the answer to " + method_ + " from " + peer_ + ": " + why);
        abort();
    }

    void abort() noexcept {
        if (closed_)
            return;
        closed_ = true;
        resetOnClose(true);
        lowest().close();  // a pending operation completes with operation_aborted
        source_.reset();
    }

    void resetOnClose(bool reset) noexcept {
        beast::error_code ignored;
        lowest().socket().set_option(net::socket_base::linger(reset, 0), ignored);
    }

    void shutdown() {
        if (closed_)
            return;
        closing_ = true;
        lowest().expires_after(server_.settings.shutdownTimeout);
        stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
            self->guarded([&] {
                self->closed_ = true;
                self->lowest().close();
            });
        });
    }

    // The connection ended (peer gone, timeout, our own cut, a TLS failure).
    void ended(const beast::error_code& ec, const char* during) {
        if (!closed_ && !closing_ && !peerGone(ec))
            log::info(std::string("https: connection from ") + peer_ + " ended during " + during +
                      ": " + ec.message());
        closed_ = true;
        lowest().close();
        source_.reset();
    }

    // Answers a request that could not be parsed, then closes.
    void refuse(http::status status) {
        status_ = static_cast<unsigned>(status);
        method_ = "-";
        keepAlive_ = false;
        auto res = std::make_shared<http::response<http::string_body>>(status, 11);
        res->set(http::field::content_type, "text/plain; charset=utf-8");
        res->body() = std::string(http::obsolete_reason(status)) + "\n";
        res->content_length(res->body().size());
        res->keep_alive(false);
        write(std::move(res));
    }

    ServerCore& server_;
    std::shared_ptr<Registry> registry_;
    const std::uint64_t id_;
    const net::any_io_executor executor_;  // the connection's strand
    beast::ssl_stream<beast::tcp_stream> stream_;
    const std::string peer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    unsigned served_ = 0;
    bool closed_ = false;
    bool closing_ = false;

    // The request being answered.
    std::string method_ = "-";
    unsigned version_ = 11;
    bool head_ = false;
    bool keepAlive_ = false;
    unsigned status_ = 0;
    std::uint64_t generation_ = 0;

    // A streamed body in progress.
    std::shared_ptr<BodySource> source_;
    std::uint64_t remaining_ = 0;
    std::unique_ptr<std::array<std::uint8_t, kChunkSize>> chunk_;
    std::optional<http::response<http::buffer_body>> streamResponse_;
    std::optional<http::response_serializer<http::buffer_body>> serializer_;
};

void Registry::cut(bool andClose) {
    // Sessions are released outside the lock: the last reference may be one
    // of these, and ~Session takes the lock.
    std::vector<std::shared_ptr<Session>> live;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        closed_ = andClose;
        live.reserve(sessions_.size());
        for (const auto& [id, weak] : sessions_)
            if (auto s = weak.lock()) {
                s->cut();
                live.push_back(std::move(s));
            }
    }
}

std::string peerAddress(const tcp::socket& socket) {
    beast::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    if (ec)
        return "unknown";
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    return address.to_string();
}

}  // namespace

struct HttpsServer::Impl {
    Impl(HttpsSettings s, HttpHandler h, core::ModeGate& g)
        : shared(std::move(s), std::move(h), g)
        , ioc(static_cast<int>(shared.settings.networkThreads)) {}

    void bind(core::UniqueFd activated);
    void doAccept();
    void onAccept(const beast::error_code& ec, tcp::socket socket);
    void logRefusal(const char* what);

    ServerCore shared;
    // Destroyed before `shared`, after everything below.
    net::io_context ioc;
    tcp::acceptor acceptor{net::make_strand(ioc)};
    net::steady_timer acceptRetry{acceptor.get_executor()};
    std::uint16_t boundPort = 0;
    std::atomic<bool> capReported{false};
    std::atomic<bool> acceptFailing{false};
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::optional<net::thread_pool> workers;
    std::vector<std::thread> threads;

    std::mutex lifecycle;  // start() and stop()
    bool started = false;
    bool stopped = false;
    std::mutex drainMutex;
    std::condition_variable drained;
    unsigned running = 0;  // network threads still inside run(); guarded by drainMutex
};

void HttpsServer::Impl::bind(core::UniqueFd activated) {
    beast::error_code ec;
    if (activated) {
        const int fd = activated.get();
        sockaddr_storage address{};
        socklen_t addressLength = sizeof address;
        const auto intOption = [fd](int option) {
            int value = -1;
            socklen_t length = sizeof value;
            return ::getsockopt(fd, SOL_SOCKET, option, &value, &length) == 0 ? value : -1;
        };
        const bool ok =
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &addressLength) == 0 &&
            (address.ss_family == AF_INET || address.ss_family == AF_INET6) &&
            intOption(SO_TYPE) == SOCK_STREAM && intOption(SO_ACCEPTCONN) == 1;
        if (!ok)
            throw std::runtime_error(
                "links: the activated https socket is not a listening TCP socket");
        acceptor.assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
        if (ec)
            throw std::runtime_error("links: cannot adopt the activated https socket: " +
                                     ec.message());
        (void)activated.release();  // now owned by the acceptor
    } else {
        const auto address = net::ip::make_address(shared.settings.listen.host, ec);
        if (ec)
            throw std::runtime_error("links: listen address '" + shared.settings.listen.host +
                                     "' is not an IP address");
        const tcp::endpoint endpoint(address, shared.settings.listen.port);
        acceptor.open(endpoint.protocol(), ec);
        if (!ec)
            acceptor.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec)
            acceptor.bind(endpoint, ec);
        if (!ec)
            acceptor.listen(net::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error("links: cannot listen on " +
                                     shared.settings.listen.toString() + ": " + ec.message());
    }
    const auto local = acceptor.local_endpoint(ec);
    if (ec)
        throw std::runtime_error("links: cannot read the listening address: " + ec.message());
    boundPort = local.port();
}

void HttpsServer::Impl::doAccept() {
    if (shared.stopping.load(std::memory_order_acquire))
        return;
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
        try {
            onAccept(ec, std::move(socket));
        } catch (const std::exception& e) {
            log::error(std::string("https: accepting a connection failed: ") + e.what());
            doAccept();
        }
    });
}

void HttpsServer::Impl::onAccept(const beast::error_code& ec, tcp::socket socket) {
    if (shared.stopping.load(std::memory_order_acquire) || ec == net::error::operation_aborted)
        return;
    if (ec) {
        // EMFILE and friends: retry shortly instead of spinning, and say so once per episode.
        if (!acceptFailing.exchange(true, std::memory_order_relaxed))
            log::warning("https: accept failed: " + ec.message());
        acceptRetry.expires_after(kAcceptRetryDelay);
        acceptRetry.async_wait([this](beast::error_code e) {
            if (!e)
                doAccept();
        });
        return;
    }
    if (shared.registry->count() >= shared.settings.maxConnections) {
        beast::error_code ignored;
        socket.set_option(net::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
        logRefusal("connection cap reached");
        return doAccept();
    }
    acceptFailing.store(false, std::memory_order_relaxed);
    capReported.store(false, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::string peer = peerAddress(socket);
    std::make_shared<Session>(shared, std::move(socket), std::move(peer))->start();
    doAccept();
}

void HttpsServer::Impl::logRefusal(const char* what) {
    // Once per episode: a flood must not flood the journal too.
    if (!capReported.exchange(true, std::memory_order_relaxed))
        log::warning(std::string("https: refusing connections: ") + what + " (" +
                     std::to_string(shared.settings.maxConnections) + ")");
}

HttpsServer::HttpsServer(HttpsSettings settings, HttpHandler handler, core::ModeGate& gate,
                         core::UniqueFd activated) {
    if (!handler)
        throw std::invalid_argument("HttpsServer: no handler");
    settings.networkThreads = std::max(1U, settings.networkThreads);
    settings.workerThreads = std::max(1U, settings.workerThreads);
    settings.maxRequestsPerConnection = std::max(1U, settings.maxRequestsPerConnection);
    impl_ = std::make_unique<Impl>(std::move(settings), std::move(handler), gate);
    configureTls(impl_->shared.tls, impl_->shared.settings);
    impl_->bind(std::move(activated));
    // The listener holds only the registry, weakly: it outlives neither the
    // server's connections nor, once stop() has closed the registry, its effect.
    // Runs on the publishing (control) thread: it only posts, and never throws into
    // ModeGate::publish.
    gate.onChange(
        [registry = std::weak_ptr<Registry>(impl_->shared.registry)](policy::Mode mode) noexcept {
            if (mode == policy::Mode::online)
                return;
            try {
                if (auto r = registry.lock())
                    r->cutAll();
            } catch (...) {
                log::error("https: cutting the connections after a change of mode failed");
            }
        });
}

HttpsServer::~HttpsServer() {
    try {
        stop();
    } catch (const std::exception& e) {
        log::error(std::string("https: stopping failed: ") + e.what());
    } catch (...) {
        log::error("https: stopping failed");
    }
}

void HttpsServer::start() {
    Impl& s = *impl_;
    std::lock_guard lock(s.lifecycle);
    if (s.started || s.stopped)
        return;
    s.started = true;
    s.workers.emplace(s.shared.settings.workerThreads);
    s.shared.workers = &*s.workers;
    s.work.emplace(net::make_work_guard(s.ioc));
    {
        std::lock_guard drain(s.drainMutex);
        s.running = s.shared.settings.networkThreads;
    }
    for (unsigned i = 0; i < s.shared.settings.networkThreads; ++i) {
        s.threads.emplace_back([&s] {
            for (;;) {
                try {
                    s.ioc.run();
                    break;
                } catch (const std::exception& e) {
                    log::error(std::string("https: network thread: ") + e.what());
                } catch (...) {
                    log::error("https: network thread: unknown failure");
                }
            }
            std::lock_guard drain(s.drainMutex);
            --s.running;
            s.drained.notify_all();
        });
    }
    net::post(s.acceptor.get_executor(), [&s] { s.doAccept(); });
}

void HttpsServer::stop() {
    Impl& s = *impl_;
    std::lock_guard lock(s.lifecycle);
    if (s.stopped)
        return;
    s.stopped = true;
    s.shared.stopping.store(true, std::memory_order_release);
    if (!s.started) {
        beast::error_code ignored;
        s.acceptor.close(ignored);
        s.shared.registry->close();
        return;
    }
    net::post(s.acceptor.get_executor(), [&s] {
        beast::error_code ignored;
        s.acceptor.close(ignored);
        s.acceptRetry.cancel();
    });
    s.shared.registry->close();
    // Handlers already running finish; queued ones are dropped with their
    // connections (which are cut anyway).
    // The pool itself lives until the destructor: a network thread may still
    // post to it (the task is then dropped).
    s.workers->stop();
    s.workers->join();
    s.work.reset();
    {
        std::unique_lock drain(s.drainMutex);
        if (!s.drained.wait_for(drain, kStopDrainLimit, [&s] { return s.running == 0; })) {
            log::warning("https: connections did not close in time; stopping the network threads");
            s.ioc.stop();
        }
    }
    for (auto& t : s.threads)
        t.join();
    s.threads.clear();
}

std::uint16_t HttpsServer::port() const noexcept {
    return impl_->boundPort;
}

void HttpsServer::cutAll() {
    impl_->shared.registry->cutAll();
}

unsigned HttpsServer::openConnections() const noexcept {
    return impl_->shared.registry->count();
}

}  // namespace sealport::links
