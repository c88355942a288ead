// Runs a fuzz target over files, without libFuzzer: how the ordinary debug build
// replays the seed corpus under CTest, so that the targets keep compiling and the
// seeds (including the reproducers of bugs found) keep being checked.
//
//   control_request_fuzz fuzz/corpus/control_request [more dirs or files...]
//
// Directories are walked recursively, in sorted order. Each input runs in its
// own child process, so one crashing input (a trap, an assertion, a signal, an
// exception escaping the target) does not hide the others: every failing input
// is named at the end and the exit status is 1.

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    std::vector<char> chars{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<std::uint8_t> bytes(chars.size());
    std::transform(chars.begin(), chars.end(), bytes.begin(),
                   [](char c) { return static_cast<std::uint8_t>(c); });
    return bytes;
}

std::vector<std::filesystem::path> inputsOf(const std::filesystem::path& arg) {
    std::vector<std::filesystem::path> out;
    if (std::filesystem::is_directory(arg)) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(arg))
            if (entry.is_regular_file()) out.push_back(entry.path());
        std::sort(out.begin(), out.end());
    } else if (std::filesystem::is_regular_file(arg)) {
        out.push_back(arg);
    } else {
        throw std::runtime_error(arg.string() + ": no such file or directory");
    }
    return out;
}

// In the child: run the target once, as libFuzzer would.
[[noreturn]] void runChild(const std::vector<std::uint8_t>& data) {
    // libFuzzer never passes a null pointer, even for an empty input.
    const std::uint8_t empty = 0;
    try {
        LLVMFuzzerTestOneInput(data.empty() ? &empty : data.data(), data.size());
    } catch (const std::exception& e) {
        std::cerr << "exception escaped the target: " << e.what() << "\n";
        std::_Exit(3);
    } catch (...) {
        std::cerr << "non-standard exception escaped the target\n";
        std::_Exit(3);
    }
    std::_Exit(0);
}

// Runs one input in a child process; returns an empty string or what went wrong.
std::string runOne(const std::filesystem::path& path) {
    const std::vector<std::uint8_t> data = readFile(path);
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) runChild(data);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    }
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return "exit status " + std::to_string(WEXITSTATUS(status));
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        if (args.empty()) {
            std::cerr << "usage: " << argv[0] << " DIR_OR_FILE...\n";
            return 2;
        }
        std::size_t runs = 0;
        std::vector<std::string> failures;
        for (const auto& arg : args) {
            for (const auto& path : inputsOf(arg)) {
                ++runs;
                const std::string failure = runOne(path);
                if (!failure.empty()) {
                    std::cerr << "FAILED " << path.string() << ": " << failure << "\n";
                    failures.push_back(path.string() + ": " + failure);
                }
            }
        }
        if (runs == 0) {
            std::cerr << "no inputs found: an empty corpus tests nothing\n";
            return 1;
        }
        std::cout << runs - failures.size() << " of " << runs << " inputs passed\n";
        if (failures.empty()) return 0;
        std::cerr << failures.size() << " inputs failed:\n";
        for (const auto& f : failures) std::cerr << "  " << f << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
