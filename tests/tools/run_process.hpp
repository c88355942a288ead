#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace sealport::testing {

struct ProcessResult {
    int exitCode = -1;  // 128 + signal when killed
    std::string out;
    std::string err;
};

// Runs argv[0] (searched on PATH) with stdin from /dev/null, collecting
// stdout and stderr. Killed after `timeout`.
ProcessResult runProcess(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Whether `name` is an executable on PATH.
bool onPath(const std::string& name);

}  // namespace sealport::testing
