#include "sealport/runtime/runtime.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>

#include "sealport/control/server.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/core/listen_fds.hpp"
#include "sealport/core/log.hpp"
#include "sealport/core/notify.hpp"
#include "sealport/runtime/commands.hpp"
#include "sealport/state/state.hpp"

namespace sealport::runtime {

namespace asio = boost::asio;

namespace {

// journalctl MESSAGE_ID= for alerts that need a person's attention.
constexpr std::string_view kAlertMessageId = "b7e2d0f4a5c64e1f9d3a8b2c6e0f1a47";

}  // namespace

struct Runtime::Impl {
    Impl(core::Config c, core::SecretBytes master)
        : config(std::move(c))
        , keys(core::deriveKeyRing(master))
        , state(config.stateDir, keys, clock, config.audit.checkpointEvery)
        , commands(state.audit())
        , roles(config.roles)
        , signals(io, SIGTERM, SIGINT)
        , watchdogTimer(io) {
        restoreMode();
        auto fds = core::ListenFds::fromSystemd();
        core::UniqueFd controlFd = fds.take("control");
        if (!controlFd) controlFd = control::bindControlSocket(config.control.socket);
        control = std::make_unique<control::ControlServer>(io, std::move(controlFd), config.control,
                                                           roles, commands);
        registerCoreCommands(commands, status);
        state.audit().append(state::Actor::daemon(), "daemon.start", "sealportd",
                             state::Outcome::success,
                             {{"version", SEALPORT_VERSION},
                              {"mode", policy::toString(status.mode.mode)},
                              {"alerts", status.alerts}});
    }

    // Fail secure: a broken chain or a missing mode record means incident mode.
    void restoreMode() {
        status.state = &state;
        status.version = SEALPORT_VERSION;
        const auto verification = state.audit().verify();
        if (!verification.ok)
            raiseAlert("audit chain does not verify at entry " +
                       std::to_string(verification.firstBad.value_or(0)) + ": " +
                       verification.reason);
        auto record = state::loadModeRecord(state.db());
        if (!record && state.created()) {
            state::Database::Transaction tx(state.db());
            auto entry = state.audit().append(state::Actor::daemon(), "state.created",
                                              state.databasePath().filename().string(),
                                              state::Outcome::success,
                                              {{"schema", state::kSchemaVersion}});
            record = state::ModeRecord{policy::Mode::online, entry.time, "new state", entry.seq};
            state::saveModeRecord(state.db(), *record);
            tx.commit();
        } else if (!record) {
            raiseAlert("mode record missing or unreadable");
        }
        if (!record || !verification.ok) {
            const std::string reason = status.alerts.back();
            state::Database::Transaction tx(state.db());
            auto entry = state.audit().append(state::Actor::daemon(), "mode.fail_secure", "incident",
                                              state::Outcome::success, {{"reason", reason}});
            record = state::ModeRecord{policy::Mode::incident, entry.time, reason, entry.seq};
            state::saveModeRecord(state.db(), *record);
            tx.commit();
        }
        status.mode = *record;
    }

    void raiseAlert(const std::string& alert) {
        status.alerts.push_back(alert);
        core::log::journal(core::log::Priority::warning, kAlertMessageId, "ALERT: " + alert,
                           {{"SEALPORT_ALERT", alert}});
        core::log::warning("ALERT: " + alert);
    }

    std::string statusLine() const {
        std::string line = "mode " + std::string(policy::toString(status.mode.mode));
        if (status.mode.mode == policy::Mode::incident)
            line += " (online sharing suspended: " + status.mode.reason + ")";
        if (!status.alerts.empty()) line += "; " + std::to_string(status.alerts.size()) + " alert(s)";
        return line;
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

    void shutdown(int signal) {
        notifier.stopping("stopping on signal " + std::to_string(signal) + "; " + statusLine());
        control->stop();
        try {
            state.audit().append(state::Actor::daemon(), "daemon.stop", "sealportd",
                                 state::Outcome::success, {{"signal", signal}});
            state.audit().checkpoint();
        } catch (const std::exception& e) {
            core::log::error(std::string("could not record the shutdown in the audit log: ") + e.what());
            exitCode = 1;
        }
        watchdogTimer.cancel();
        io.stop();
    }

    int run() {
        signals.async_wait([this](boost::system::error_code ec, int signal) {
            if (!ec) shutdown(signal);
        });
        control->start();
        armWatchdog();
        notifier.ready(statusLine());
        core::log::notice("ready: " + statusLine() + "; control socket " +
                          config.control.socket.string());
        io.run();
        return exitCode;
    }

    core::Config config;
    core::SystemClock clock;
    core::KeyRing keys;
    state::State state;
    control::CommandRegistry commands;
    control::RoleMap roles;
    StatusView status;
    asio::io_context io;
    asio::signal_set signals;
    asio::steady_timer watchdogTimer;
    core::ServiceNotifier notifier;
    std::unique_ptr<control::ControlServer> control;
    int exitCode = 0;
};

Runtime::Runtime(core::Config config, core::SecretBytes masterKey)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(masterKey))) {}

Runtime::~Runtime() = default;

int Runtime::run() { return impl_->run(); }

}  // namespace sealport::runtime
