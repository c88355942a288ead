#pragma once

// Helpers for the HTTPS server tests: child processes (curl, openssl) whose
// exit can be timed, a throw-away self-signed certificate, raw TCP clients and
// a deterministic byte pattern for checking streamed bodies.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sealport::httpstest {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void writeFile(const std::filesystem::path& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

// Byte `i` of every generated body: position-dependent, so a lost, repeated or
// reordered chunk shows up.
inline std::uint8_t patternByte(std::uint64_t i) noexcept {
    std::uint64_t x = i / 8 + 0x9E3779B97F4A7C15ULL;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 29;
    return static_cast<std::uint8_t>(x >> (8 * (i % 8)));
}

// Index of the first byte of `data` that is not the pattern, or npos.
inline std::size_t firstPatternMismatch(const std::string& data) {
    for (std::size_t i = 0; i < data.size(); ++i)
        if (static_cast<std::uint8_t>(data[i]) != patternByte(i))
            return i;
    return std::string::npos;
}

// A child process. stdout and stderr go to files (or stdout to a pipe that
// is never read, to make a client that stops reading); stdin is /dev/null or a
// pipe kept open until closeStdin().
class Child {
  public:
    struct Options {
        bool stdinPipe = false;
        bool stdoutPipe = false;  // never read by the test
        std::filesystem::path stdoutFile;
        std::filesystem::path stderrFile;
    };

    Child(const std::vector<std::string>& argv, const Options& options) {
        int in[2] = {-1, -1};
        int out[2] = {-1, -1};
        if (options.stdinPipe && ::pipe2(in, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        if (options.stdoutPipe && ::pipe2(out, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        std::vector<std::string> args = argv;
        std::vector<char*> cargv;
        for (auto& a : args)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);
        const std::string outPath = options.stdoutFile.string();
        const std::string errPath = options.stderrFile.string();
        started_ = Clock::now();
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::runtime_error("fork");
        if (pid_ == 0) {
            const int devnull = ::open("/dev/null", O_RDWR);
            ::dup2(options.stdinPipe ? in[0] : devnull, 0);
            if (options.stdoutPipe)
                ::dup2(out[1], 1);
            else if (!outPath.empty())
                ::dup2(::open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
            else
                ::dup2(devnull, 1);
            ::dup2(errPath.empty() ? devnull
                                   : ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600),
                   2);
            ::signal(SIGPIPE, SIG_DFL);
            ::execvp(cargv[0], cargv.data());
            ::_exit(127);
        }
        if (options.stdinPipe) {
            ::close(in[0]);
            stdin_ = in[1];
        }
        if (options.stdoutPipe) {
            ::close(out[1]);
            stdout_ = out[0];
        }
    }
    ~Child() {
        if (!exit_) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        closeStdin();
        if (stdout_ >= 0)
            ::close(stdout_);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    void writeStdin(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            const ssize_t n = ::write(stdin_, data.data() + done, data.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw std::runtime_error("write to child stdin");
            done += static_cast<std::size_t>(n);
        }
    }
    void closeStdin() {
        if (stdin_ >= 0)
            ::close(stdin_);
        stdin_ = -1;
    }

    // The exit code (128 + signal), or nothing if still running after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (!exit_) {
            int status = 0;
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                exited_ = Clock::now();
                exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            if (Clock::now() >= deadline)
                break;
            std::this_thread::sleep_for(2ms);
        }
        return exit_;
    }
    [[nodiscard]] bool running() { return !wait(0ms).has_value(); }
    // When the exit was first seen (wait() polls every 2 ms).
    [[nodiscard]] Clock::time_point exitedAt() const { return exited_; }

  private:
    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    Clock::time_point started_;
    Clock::time_point exited_;
    std::optional<int> exit_;
};

struct Run {
    int exitCode = -1;
    std::string out;
    std::string err;
};

// Runs a command to completion (killed after `timeout`), with `input` on stdin.
inline Run run(const std::filesystem::path& scratch, const std::vector<std::string>& argv,
               const std::string& input = {}, std::chrono::milliseconds timeout = 20s) {
    static int counter = 0;
    const auto tag = std::to_string(++counter);
    const auto outFile = scratch / ("run" + tag + ".out");
    const auto errFile = scratch / ("run" + tag + ".err");
    Child child(
        argv,
        {.stdinPipe = true, .stdoutPipe = false, .stdoutFile = outFile, .stderrFile = errFile});
    child.writeStdin(input);
    child.closeStdin();
    const auto code = child.wait(timeout);
    Run r;
    r.exitCode = code.value_or(-1);
    r.out = readFile(outFile);
    r.err = readFile(errFile);
    if (!code)
        r.err += "\n[timed out]";
    return r;
}

// A self-signed EC P-256 certificate for localhost/127.0.0.1, made fresh.
inline void makeCertificate(const std::filesystem::path& dir, const std::string& name = "server") {
    const auto r =
        run(dir, {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost", "-addext",
                  "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1", "-keyout",
                  (dir / (name + ".key")).string(), "-out", (dir / (name + ".pem")).string()});
    if (r.exitCode != 0)
        throw std::runtime_error("openssl req failed: " + r.err);
}

// A plain TCP connection to 127.0.0.1:port (no TLS).
class RawConnection {
  public:
    explicit RawConnection(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::runtime_error("connect failed");
    }
    ~RawConnection() { close(); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;
    void close() {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }
    // Whether the server closed (EOF or reset) within `timeout`; bytes it sent are skipped.
    bool closedByPeerWithin(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0)
                return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                continue;
            char buf[4096];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                return true;
        }
    }

  private:
    int fd_ = -1;
};

// Polls `condition` every 5 ms until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!condition()) {
        if (Clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// Sockets of this host whose *local* port is `port` (the server's side of its
// connections), other than the listener, from /proc/net/tcp{,6}: state and
// bytes queued for sending.
struct KernelSocket {
    unsigned state = 0;  // 1 ESTABLISHED, 4 FIN_WAIT1, 6 TIME_WAIT, ...
    unsigned long sendQueue = 0;
};
inline std::vector<KernelSocket> serverSideSockets(std::uint16_t port) {
    std::vector<KernelSocket> found;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::istringstream in(readFile(table));
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues;
            fields >> slot >> local >> remote >> state >> queues;
            const auto colon = local.rfind(':');
            if (colon == std::string::npos ||
                std::stoul(local.substr(colon + 1), nullptr, 16) != port)
                continue;
            KernelSocket k;
            k.state = static_cast<unsigned>(std::stoul(state, nullptr, 16));
            if (k.state == 0x0A)
                continue;  // LISTEN
            k.sendQueue = std::stoul(queues.substr(0, queues.find(':')), nullptr, 16);
            found.push_back(k);
        }
    }
    return found;
}

inline double secondsSince(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace sealport::httpstest
