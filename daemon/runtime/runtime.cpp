#include "sealport/runtime/runtime.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "sealport/control/server.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/core/listen_fds.hpp"
#include "sealport/core/log.hpp"
#include "sealport/core/mode_gate.hpp"
#include "sealport/core/notify.hpp"
#include "sealport/ingest/dicom_service.hpp"
#include "sealport/links/https_server.hpp"
#include "sealport/links/service.hpp"
#include "sealport/recovery/checklist.hpp"
#include "sealport/runtime/commands.hpp"
#include "sealport/runtime/mode_controller.hpp"
#include "sealport/state/state.hpp"

namespace sealport::runtime {

namespace asio = boost::asio;


struct Runtime::Impl {
    Impl(core::Config c, core::SecretBytes master)
        : config(std::move(c))
        , keys(core::deriveKeyRing(master))
        , state(config.stateDir, keys, clock, config.audit.checkpointEvery)
        , mode(state, gate, config.policy, clock, notifier, alerts)
        , tripwires(mode, alerts, config.policy)
        , commands(state.audit())
        , roles(config.roles)
        , services{state, mode, tripwires, checklist, alerts, clock, gate, config.policy,
                   static_cast<std::size_t>(config.dicom.maxObjectMiB) * 1024 * 1024, SEALPORT_VERSION,
                   [this]() -> std::optional<std::uint16_t> {
                       return dicom ? std::optional<std::uint16_t>(dicom->port()) : std::nullopt;
                   },
                   [this]() -> std::optional<std::uint16_t> {
                       return https ? std::optional<std::uint16_t>(https->port()) : std::nullopt;
                   },
                   nullptr}
        , signals(io, SIGTERM, SIGINT)
        , watchdogTimer(io)
        , auditTimer(io) {
        // The mode is restored (or fail-secure incident entered) before any socket exists.
        mode.restore();
        // A new alert refreshes STATUS=, from the main loop (never under the raiser's locks).
        alerts.onRaise([this] { asio::post(io, [this] { notifier.status(mode.statusLine()); }); });
        checklist.add(recovery::auditChainCheck(state));
        checklist.add(recovery::databaseIntegrityCheck(state));
        auto fds = core::ListenFds::fromSystemd();
        core::UniqueFd controlFd = fds.take("control");
        if (!controlFd) controlFd = control::bindControlSocket(config.control.socket);
        control = std::make_unique<control::ControlServer>(io, std::move(controlFd), config.control,
                                                           roles, commands);
        dicom = std::make_unique<ingest::DicomService>(
            ingest::DicomSettings{config.dicom.listen, config.dicom.aeTitle, 16,
                                  static_cast<std::size_t>(config.dicom.maxObjectMiB) * 1024 * 1024, 30, 60}, state, gate,
            config.policy, clock);
        dicom->start(fds.take("dicom"));
        startLinks(fds.take("https"));
        // A socket nobody took would accept connections that are never answered.
        for (const auto& name : fds.untaken())
            core::log::warning("systemd passed a socket named '" + name +
                               "' that this daemon does not use (expected control, dicom, https); it is closed");
        registerCoreCommands(commands, services);
        registerCatalogueCommands(commands, services);
        registerLinkCommands(commands, services);
        state.audit().append(state::Actor::daemon(), "daemon.start", "sealportd",
                             state::Outcome::success,
                             {{"version", SEALPORT_VERSION},
                              {"mode", policy::toString(gate.current())},
                              {"alerts", alerts.all()}});
    }

    // The HTTPS link server, when a certificate and key are configured. The
    // DICOMDIRs of downloads are built through a private directory on tmpfs
    // (they hold patient names): systemd's RuntimeDirectory, else /dev/shm.
    void startLinks(core::UniqueFd activated) {
        if (!config.links.tlsCert || !config.links.tlsKey) {
            core::log::warning("online links are off: [links] tls_cert and tls_key are not set");
            return;
        }
        const char* runtimeDir = std::getenv("RUNTIME_DIRECTORY");
        std::string base = runtimeDir != nullptr && *runtimeDir != '\0' ? runtimeDir : "/dev/shm";
        base = base.substr(0, base.find(':'));
        // A scratch directory left by a run that crashed may hold a DICOMDIR:
        // wipe those whose daemon (the pid in the name) is gone. Others may
        // belong to another sealportd of the same user (tests, a second instance).
        std::error_code ec;
        const std::string prefix = "sealport-scratch-";
        for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
            const std::string name = e.path().filename().string();
            struct stat st{};
            if (name.rfind(prefix, 0) != 0 || ::lstat(e.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
                st.st_uid != ::geteuid())
                continue;
            const std::string pid = name.substr(prefix.size(), name.find('-', prefix.size()) - prefix.size());
            if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
            if (!std::filesystem::exists("/proc/" + pid, ec)) std::filesystem::remove_all(e.path(), ec);
        }
        std::string tmpl = base + "/" + prefix + std::to_string(::getpid()) + "-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr)
            throw std::runtime_error("cannot create a private scratch directory under " + base + ": " +
                                     std::strerror(errno));
        scratchDir = tmpl;
        linkService = std::make_unique<links::LinkService>(
            state, gate, config.policy, clock,
            // Called on an HTTPS worker: the tripwire (which may enter incident
            // mode through the main connection) runs on the main loop.
            links::LinkHooks{[this](const std::string& client, policy::TimePoint now) {
                asio::post(io, [this, client, now] { tripwires.failedTokenLookup(client, now); });
            }},
            links::LinkServiceSettings{config.links.publicUrl, scratchDir.path, SEALPORT_VERSION});
        links::HttpsSettings hs;
        hs.listen = config.links.listen;
        hs.tlsCert = *config.links.tlsCert;
        hs.tlsKey = *config.links.tlsKey;
        try {
            https = std::make_unique<links::HttpsServer>(
                hs, [svc = linkService.get()](const links::HttpRequest& r) { return svc->handle(r); }, gate,
                std::move(activated));
        } catch (const std::runtime_error& e) {
            // Unreadable or mismatched tls_cert/tls_key: a configuration error
            // (exit 78, which systemd does not restart in a loop).
            const std::string what = e.what();
            if (what.rfind("tls_cert", 0) == 0 || what.rfind("tls_key", 0) == 0) throw core::ConfigError(what);
            throw;
        }
        services.links = linkService.get();
        https->start();
    }

    void armWatchdog() {
        const auto interval = notifier.watchdogInterval();
        if (!interval) return;
        // Pinged from the main loop: if the loop hangs, the pings stop and systemd acts.
        watchdogTimer.expires_after(*interval);
        watchdogTimer.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            notifier.watchdog();
            armWatchdog();
        });
    }

    // The audit-chain tripwire: verify periodically; a break enters incident mode.
    void armAuditTripwire() {
        auditTimer.expires_after(std::chrono::seconds(config.audit.verifyIntervalSeconds));
        auditTimer.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            try {
                tripwires.auditChainVerified(state.audit().verify());
            } catch (const std::exception& e) {
                alerts.raise(std::string("periodic audit verification failed to run: ") + e.what());
            }
            armAuditTripwire();
        });
    }

    void shutdown(int signal) {
        notifier.stopping("stopping on signal " + std::to_string(signal) + "; " + mode.statusLine());
        control->stop();
        if (https) https->stop();
        dicom->stop();
        try {
            state.audit().append(state::Actor::daemon(), "daemon.stop", "sealportd",
                                 state::Outcome::success, {{"signal", signal}});
            state.audit().checkpoint();
        } catch (const std::exception& e) {
            core::log::error(std::string("could not record the shutdown in the audit log: ") + e.what());
            exitCode = 1;
        }
        watchdogTimer.cancel();
        auditTimer.cancel();
        io.stop();
    }

    int run() {
        signals.async_wait([this](boost::system::error_code ec, int signal) {
            if (!ec) shutdown(signal);
        });
        control->start();
        armWatchdog();
        armAuditTripwire();
        notifier.ready(mode.statusLine());
        core::log::notice("ready: " + mode.statusLine() + "; control socket " +
                          config.control.socket.string() + "; DICOM port " + std::to_string(dicom->port()) +
                          (https ? "; HTTPS port " + std::to_string(https->port()) : std::string()));
        io.run();
        return exitCode;
    }

    core::Config config;
    core::SystemClock clock;
    core::KeyRing keys;
    core::ServiceNotifier notifier;
    core::ModeGate gate;
    Alerts alerts;
    state::State state;
    ModeController mode;
    Tripwires tripwires;
    recovery::Checklist checklist;
    control::CommandRegistry commands;
    control::RoleMap roles;
    Services services;
    asio::io_context io;
    asio::signal_set signals;
    asio::steady_timer watchdogTimer;
    asio::steady_timer auditTimer;
    std::unique_ptr<control::ControlServer> control;
    std::unique_ptr<ingest::DicomService> dicom;
    struct RemovedAtExit {
        std::filesystem::path path;
        operator const std::filesystem::path&() const { return path; }
        RemovedAtExit& operator=(std::filesystem::path p) {
            path = std::move(p);
            return *this;
        }
        ~RemovedAtExit() {
            std::error_code ec;
            if (!path.empty()) std::filesystem::remove_all(path, ec);
        }
    } scratchDir;
    std::unique_ptr<links::LinkService> linkService;  // destroyed after the server that calls it
    std::unique_ptr<links::HttpsServer> https;
    int exitCode = 0;
};

Runtime::Runtime(core::Config config, core::SecretBytes masterKey)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(masterKey))) {}

Runtime::~Runtime() = default;

int Runtime::run() { return impl_->run(); }

void Runtime::initialize(const core::Config& config, core::SecretBytes masterKey) {
    const auto keys = core::deriveKeyRing(masterKey);
    core::SystemClock clock;
    state::State st(config.stateDir, keys, clock, config.audit.checkpointEvery);
    initializeState(st, clock,
                    state::Actor{static_cast<std::uint32_t>(::getuid()), static_cast<std::int32_t>(::getpid()),
                                 "installer"});
    st.audit().checkpoint();
}

}  // namespace sealport::runtime
