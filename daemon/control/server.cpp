#include "sealport/control/server.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <list>
#include <mutex>
#include <thread>

#include "sealport/core/log.hpp"

namespace sealport::control {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
    Impl(asio::io_context& io, core::UniqueFd fd, const core::ControlConfig& c, const RoleMap& r,
         CommandRegistry& cmds)
        : acceptor(io, Local(), fd.release()), config(c), roles(r), commands(cmds) {}

    void accept();
    // Runs background work on a thread of its own; `done` runs on the loop.
    void runBackground(std::function<nlohmann::json(const std::atomic<bool>&)> work,
                       std::function<void(nlohmann::json)> done);
    void joinBackground();

    Local::acceptor acceptor;
    core::ControlConfig config;
    const RoleMap& roles;
    CommandRegistry& commands;
    unsigned active = 0;
    std::atomic<bool> cancelled{false};
    struct Background {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
    };
    std::mutex backgroundMutex;
    std::list<Background> background;
};

namespace {

// One connection: read one framed request under a deadline, answer, close.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(Local::socket socket, std::shared_ptr<ControlServer::Impl> server, PeerCredentials peer)
        : socket_(std::move(socket))
        , deadline_(socket_.get_executor())
        , server_(std::move(server))
        , peer_(std::move(peer)) {
        ++server_->active;
    }
    ~Session() { --server_->active; }

    void start() {
        deadline_.expires_after(std::chrono::milliseconds(server_->config.requestTimeoutMs));
        deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return;
            // A slow or silent client: tell it, then hang up.
            self->timedOut_ = true;
            boost::system::error_code ignored;
            self->socket_.cancel(ignored);
        });
        asio::async_read(socket_, asio::buffer(header_),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             self->onHeader(ec);
                         });
    }

private:
    void onHeader(boost::system::error_code ec) {
        if (ec) return failRead(ec);
        auto decoded = decodeFrameHeader(header_, server_->config.maxRequestBytes);
        if (auto* err = std::get_if<FrameHeaderError>(&decoded))
            return reply(errorResponse(ErrorKind::bad_request, err->message, newCorrelationId()));
        body_.resize(std::get<std::size_t>(decoded));
        asio::async_read(socket_, asio::buffer(body_),
                         [self = shared_from_this()](boost::system::error_code e, std::size_t) {
                             self->onBody(e);
                         });
    }

    void onBody(boost::system::error_code ec) {
        if (ec) return failRead(ec);
        auto parsed = parseRequest(body_);
        if (auto* err = std::get_if<RequestError>(&parsed))
            return reply(errorResponse(ErrorKind::bad_request, err->message, newCorrelationId()));
        const Caller caller{peer_, server_->roles.rolesOf(peer_)};
        Routed routed;
        try {
            routed = server_->commands.route(caller, std::get<Request>(parsed));
        } catch (const std::exception& e) {
            // Even the refusal could not be recorded (audit write failed): fail closed.
            const std::string id = newCorrelationId();
            core::log::error("control request failed [" + id + "]: " + e.what());
            routed.response = errorResponse(ErrorKind::internal, "internal error", id);
        }
        if (routed.response) return reply(*routed.response);
        // Long work: no request deadline while it runs; the answer comes from the loop.
        deadline_.cancel();
        server_->runBackground(std::move(routed.work),
                               [self = shared_from_this()](nlohmann::json r) { self->reply(r); });
    }

    void failRead(boost::system::error_code ec) {
        if (timedOut_)
            return reply(errorResponse(ErrorKind::bad_request, "request not received in time",
                                       newCorrelationId()));
        if (ec != asio::error::eof && ec != asio::error::operation_aborted)
            core::log::info("control connection dropped: " + ec.message());
        close();
    }

    // The answer gets its own deadline: a client that does not read it is dropped.
    void reply(const nlohmann::json& response) {
        out_ = encodeFrame(response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        deadline_.expires_after(std::chrono::milliseconds(server_->config.requestTimeoutMs));
        deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->close();
        });
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this()](boost::system::error_code, std::size_t) {
                              self->close();
                          });
    }

    void close() {
        boost::system::error_code ignored;
        deadline_.cancel();
        socket_.shutdown(Local::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    Local::socket socket_;
    asio::steady_timer deadline_;
    std::shared_ptr<ControlServer::Impl> server_;
    PeerCredentials peer_;
    std::array<std::uint8_t, kFrameHeaderSize> header_{};
    std::string body_;
    std::vector<std::uint8_t> out_;
    bool timedOut_ = false;
};

}  // namespace

void ControlServer::Impl::runBackground(std::function<nlohmann::json(const std::atomic<bool>&)> work,
                                        std::function<void(nlohmann::json)> done) {
    std::lock_guard lock(backgroundMutex);
    // Threads that have finished are joined as new ones start.
    background.remove_if([](Background& b) {
        if (!b.done->load()) return false;
        b.thread.join();
        return true;
    });
    Background& b = background.emplace_back();
    b.thread = std::thread([this, work = std::move(work), reply = std::move(done), finished = b.done]() mutable {
        nlohmann::json r;
        try {
            r = work(cancelled);
        } catch (const std::exception& e) {
            const std::string id = newCorrelationId();
            core::log::error("background command failed [" + id + "]: " + e.what());
            r = errorResponse(ErrorKind::internal, "internal error", id);
        }
        // The reply, and with it the last reference to the connection, goes to
        // the loop: a connection is only ever touched (and destroyed) there.
        asio::post(acceptor.get_executor(), [reply = std::move(reply), r = std::move(r)]() mutable {
            reply(std::move(r));
        });
        finished->store(true);
    });
}

void ControlServer::Impl::joinBackground() {
    cancelled = true;
    std::list<Background> threads;
    {
        std::lock_guard lock(backgroundMutex);
        threads.swap(background);
    }
    for (auto& t : threads)
        if (t.thread.joinable()) t.thread.join();
}

void ControlServer::Impl::accept() {
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec,
                                                      Local::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
        if (!ec) {
            try {
                if (self->active >= self->config.maxClients) {
                    core::log::warning("control socket: connection limit reached, refusing a client");
                    boost::system::error_code ignored;
                    socket.close(ignored);
                } else {
                    PeerCredentials peer = peerCredentials(socket.native_handle());
                    std::make_shared<Session>(std::move(socket), self, std::move(peer))->start();
                }
            } catch (const std::exception& e) {
                core::log::error(std::string("control socket: ") + e.what());
            }
        } else {
            core::log::warning("control socket accept: " + ec.message());
        }
        self->accept();
    });
}

ControlServer::ControlServer(asio::io_context& io, core::UniqueFd listening,
                             const core::ControlConfig& config, const RoleMap& roles,
                             CommandRegistry& commands)
    : impl_(std::make_shared<Impl>(io, std::move(listening), config, roles, commands)) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start() { impl_->accept(); }

void ControlServer::stop() {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->joinBackground();
}

}  // namespace sealport::control
