#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace sealport::control {

class ClientError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Sends one request over the control socket and returns the daemon's response.
nlohmann::json callDaemon(const std::filesystem::path& socket, const std::string& command,
                          const nlohmann::json& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace sealport::control
