#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sealport/core/clock.hpp"
#include "sealport/core/config.hpp"
#include "sealport/core/secret.hpp"

namespace sealport::runtime {

// Everything sealportd runs, wired together: state, audit, mode, control
// socket, systemd notifications, signals and the watchdog. Construction opens
// the state and binds every socket; run() announces READY=1 and serves until
// SIGTERM or SIGINT.
class Runtime {
public:
    Runtime(core::Config config, core::SecretBytes masterKey);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // Returns the process exit code.
    int run();

    // sealportd --init: creates and commissions the state, then returns.
    static void initialize(const core::Config& config, core::SecretBytes masterKey);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sealport::runtime
