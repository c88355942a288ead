#pragma once

// Starts the real sealportd and sealportctl binaries for end-to-end tests.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "temp_dir.hpp"

namespace sealport::e2e {

struct ProgramResult {
    int exitCode = -1;  // 128+signal when killed by a signal
    std::string out;
    std::string err;
};

// Runs a program to completion with a clean environment plus `env`.
ProgramResult runProgram(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

std::filesystem::path binary(const std::string& name);

// The one JSON object a `--json` command printed; fails the test otherwise.
nlohmann::json jsonOf(const ProgramResult& r);

// A synthetic study from sealport-gen-study in `out` (args as on its command
// line); returns its manifest. Fails the test if the generator fails.
nlohmann::json generate(const std::filesystem::path& out, std::vector<std::string> args);

// The AF_UNIX datagram socket a service manager would listen on (NOTIFY_SOCKET).
class NotifyListener {
public:
    explicit NotifyListener(std::filesystem::path path);
    ~NotifyListener();
    NotifyListener(const NotifyListener&) = delete;
    NotifyListener& operator=(const NotifyListener&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    // Waits until a received message has a line equal to `line` (or starting
    // with it when it ends in '='); returns that message.
    std::optional<std::string> waitFor(const std::string& line, std::chrono::milliseconds timeout);
    // Every message received so far.
    const std::vector<std::string>& messages() const noexcept { return messages_; }
    // Counts received messages holding `line`, reading for `window` first.
    std::size_t countFor(const std::string& line, std::chrono::milliseconds window);

private:
    bool receive(std::chrono::milliseconds timeout);
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<std::string> messages_;
    std::size_t scanned_ = 0;
};

// A sealportd with its own key, config, state and control socket in a temp dir.
class Daemon {
public:
    // `extraConfig` is appended to a config that sets state_dir, key_file,
    // [control] socket and maps uid 0 to security, operator and auditor.
    // `init`: commission the state with `sealportd --init` first.
    explicit Daemon(const std::string& extraConfig = "", bool mapRoot = true, bool init = true);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    void start(const std::vector<std::string>& env = {});
    // Starts and waits for READY=1; fails the test (throws) otherwise.
    void startAndWaitReady(const std::vector<std::string>& env = {});
    // Sends SIGTERM and returns the exit code.
    int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    void killHard();
    // Waits for the process to exit by itself; nullopt on timeout.
    std::optional<int> waitExit(std::chrono::milliseconds timeout);
    [[nodiscard]] bool running() const noexcept { return pid_ > 0; }

    ProgramResult ctl(const std::vector<std::string>& args) const;
    // The last 500 audit entries whose action starts with `prefix`, oldest first.
    std::vector<nlohmann::json> auditEntries(const std::string& prefix) const;
    // sealportctl run as uid:gid `id` with no supplementary groups (setpriv).
    ProgramResult ctlAs(std::uint32_t id, const std::vector<std::string>& args) const;

    [[nodiscard]] NotifyListener& notify() noexcept { return *notify_; }
    [[nodiscard]] std::string stderrText() const;
    [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_.path(); }
    [[nodiscard]] std::filesystem::path socket() const { return dir_.path() / "run" / "control.sock"; }
    [[nodiscard]] std::filesystem::path stateDir() const { return dir_.path() / "state"; }
    [[nodiscard]] std::filesystem::path keyFile() const { return dir_.path() / "master.key"; }
    [[nodiscard]] std::filesystem::path configFile() const { return dir_.path() / "sealport.toml"; }

    void writeConfig(const std::string& extraConfig, bool mapRoot);

private:
    testing::TempDir dir_{"sealport-e2e"};
    std::unique_ptr<NotifyListener> notify_;
    pid_t pid_ = -1;
    int runs_ = 0;
};

}  // namespace sealport::e2e
