#include "harness.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sealport::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> cStrings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

std::vector<std::string> baseEnv(const std::vector<std::string>& extra) {
    std::vector<std::string> env{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                 "LANG=C.UTF-8"};
    for (const char* keep : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
        if (const char* v = std::getenv(keep)) env.push_back(std::string(keep) + "=" + v);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

int decodeStatus(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

std::optional<int> waitPid(pid_t pid, std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return decodeStatus(status);
        if (r < 0 && errno != EINTR) return std::nullopt;
        if (Clock::now() >= end) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace

std::filesystem::path binary(const std::string& name) { return std::filesystem::path(SEALPORT_BIN_DIR) / name; }

nlohmann::json jsonOf(const ProgramResult& r) {
    INFO("exit " << r.exitCode << "\nstdout: " << r.out << "\nstderr: " << r.err);
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

nlohmann::json generate(const std::filesystem::path& out, std::vector<std::string> args) {
    std::vector<std::string> argv{binary("sealport-gen-study").string(), "--out", out.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = runProgram(argv);
    if (r.exitCode != 0) throw std::runtime_error("sealport-gen-study failed: " + r.err);
    return jsonOf(r);
}

ProgramResult runProgram(const std::vector<std::string>& argvIn, const std::vector<std::string>& envIn,
                         std::chrono::milliseconds timeout) {
    int outPipe[2];
    int errPipe[2];
    if (::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe failed");
    std::vector<std::string> argv = argvIn;
    std::vector<std::string> env = baseEnv(envIn);
    auto cargv = cStrings(argv);
    auto cenv = cStrings(env);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::dup2(outPipe[1], 1);
        ::dup2(errPipe[1], 2);
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::execve(cargv[0], cargv.data(), cenv.data());
        std::fprintf(stderr, "exec %s: %s\n", cargv[0], std::strerror(errno));
        ::_exit(127);
    }
    ::close(outPipe[1]);
    ::close(errPipe[1]);
    ProgramResult result;
    pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open = 2;
    const auto end = Clock::now() + timeout;
    bool killed = false;
    while (open > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        if (left.count() <= 0 && !killed) {
            ::kill(pid, SIGKILL);
            killed = true;
        }
        if (::poll(fds, 2, 100) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
            char buf[4096];
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<std::size_t>(n));
            } else {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open;
            }
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exitCode = decodeStatus(status);
    return result;
}

NotifyListener::NotifyListener(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("cannot bind notify socket " + path_.string());
}

NotifyListener::~NotifyListener() {
    if (fd_ >= 0) ::close(fd_);
    std::error_code ec;
    std::filesystem::remove(path_, ec);
}

bool NotifyListener::receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    messages_.emplace_back(buf, static_cast<std::size_t>(n));
    return true;
}

namespace {
bool hasLine(const std::string& message, const std::string& line) {
    std::istringstream in(message);
    std::string l;
    const bool prefix = !line.empty() && line.back() == '=';
    while (std::getline(in, l)) {
        if (prefix ? l.rfind(line, 0) == 0 : l == line) return true;
    }
    return false;
}
}  // namespace

std::optional<std::string> NotifyListener::waitFor(const std::string& line,
                                                   std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + timeout;
    for (;;) {
        for (; scanned_ < messages_.size(); ++scanned_) {
            if (hasLine(messages_[scanned_], line)) return messages_[scanned_++];
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        if (left.count() <= 0) return std::nullopt;
        receive(left);
    }
}

std::size_t NotifyListener::countFor(const std::string& line, std::chrono::milliseconds window) {
    const auto end = Clock::now() + window;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        if (left.count() <= 0) break;
        receive(left);
    }
    std::size_t n = 0;
    for (const auto& m : messages_) n += hasLine(m, line) ? 1U : 0U;
    return n;
}

Daemon::Daemon(const std::string& extraConfig, bool mapRoot, bool init) {
    std::filesystem::create_directories(dir_.path() / "run");
    auto gen = runProgram({binary("sealportd").string(), "--generate-key", keyFile().string()});
    if (gen.exitCode != 0) throw std::runtime_error("generate-key failed: " + gen.err);
    if (init) {
        // Commission the state as an installer would, with a config of its own
        // so that a test's deliberately broken config does not stop it.
        const auto initConfig = dir_.path() / "init.toml";
        std::ofstream(initConfig) << "state_dir = \"" << stateDir().string() << "\"\n"
                                  << "key_file = \"" << keyFile().string() << "\"\n";
        auto r = runProgram({binary("sealportd").string(), "--config", initConfig.string(), "--init"});
        if (r.exitCode != 0) throw std::runtime_error("sealportd --init failed: " + r.err);
    }
    writeConfig(extraConfig, mapRoot);
}

void Daemon::writeConfig(const std::string& extraConfig, bool mapRoot) {
    std::ofstream cfg(configFile());
    cfg << "state_dir = \"" << stateDir().string() << "\"\n"
        << "key_file = \"" << keyFile().string() << "\"\n"
        << "[control]\nsocket = \"" << socket().string() << "\"\n"
        << "request_timeout_ms = 1000\n";
    // Any free port, so that tests can run side by side; a test that writes
    // its own [dicom] section sets listen itself.
    if (extraConfig.find("[dicom]") == std::string::npos) cfg << "[dicom]\nlisten = \"127.0.0.1:0\"\n";
    if (mapRoot)
        cfg << "[roles]\nsecurity = [\"uid:0\"]\noperator = [\"uid:0\"]\nauditor = [\"uid:0\"]\n";
    cfg << extraConfig << "\n";
}

Daemon::~Daemon() {
    if (pid_ > 0) killHard();
}

void Daemon::start(const std::vector<std::string>& envExtra) {
    if (pid_ > 0) throw std::runtime_error("daemon already running");
    ++runs_;
    notify_ = std::make_unique<NotifyListener>(dir_.path() / ("notify-" + std::to_string(runs_) + ".sock"));
    std::vector<std::string> argv{binary("sealportd").string(), "--config", configFile().string()};
    std::vector<std::string> extra{"NOTIFY_SOCKET=" + notify_->path().string()};
    extra.insert(extra.end(), envExtra.begin(), envExtra.end());
    std::vector<std::string> env = baseEnv(extra);
    auto cargv = cStrings(argv);
    auto cenv = cStrings(env);
    const std::string errPath = (dir_.path() / "sealportd.stderr").string();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int err = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(err, 2);
        ::execve(cargv[0], cargv.data(), cenv.data());
        ::_exit(127);
    }
    pid_ = pid;
}

void Daemon::startAndWaitReady(const std::vector<std::string>& env) {
    start(env);
    if (!notify_->waitFor("READY=1", std::chrono::seconds(20))) {
        const auto code = waitExit(std::chrono::milliseconds(100));
        throw std::runtime_error("sealportd did not become ready (exit " +
                                 (code ? std::to_string(*code) : std::string("-")) +
                                 "); stderr:\n" + stderrText());
    }
}

std::optional<int> Daemon::waitExit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return std::nullopt;
    auto code = waitPid(pid_, timeout);
    if (code) pid_ = -1;
    return code;
}

int Daemon::terminate(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) throw std::runtime_error("daemon not running");
    ::kill(pid_, SIGTERM);
    auto code = waitExit(timeout);
    if (!code) {
        killHard();
        throw std::runtime_error("sealportd did not exit after SIGTERM; stderr:\n" + stderrText());
    }
    return *code;
}

void Daemon::killHard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

ProgramResult Daemon::ctl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{binary("sealportctl").string(), "--socket", socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProgram(argv);
}

std::vector<nlohmann::json> Daemon::auditEntries(const std::string& prefix) const {
    const nlohmann::json tail = jsonOf(ctl({"audit", "tail", "-n", "500", "--json"}));
    std::vector<nlohmann::json> out;
    for (const auto& e : tail.at("entries"))
        if (e.at("action").get<std::string>().rfind(prefix, 0) == 0) out.push_back(e);
    return out;
}

ProgramResult Daemon::ctlAs(std::uint32_t id, const std::vector<std::string>& args) const {
    const std::string n = std::to_string(id);
    // A copy the other uid can reach whatever the modes of the build tree's parents.
    const auto copy = dir_.path() / "run" / "sealportctl";
    if (!std::filesystem::exists(copy)) {
        std::filesystem::copy_file(binary("sealportctl"), copy);
        std::filesystem::permissions(copy, std::filesystem::perms(0755));
    }
    std::vector<std::string> argv{"/usr/bin/setpriv", "--reuid", n, "--regid", n, "--clear-groups",
                                  copy.string(), "--socket", socket().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProgram(argv);
}

std::string Daemon::stderrText() const {
    std::ifstream in(dir_.path() / "sealportd.stderr");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace sealport::e2e
