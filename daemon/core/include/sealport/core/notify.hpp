#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace sealport::core {

// The service manager's notification channel (sd_notify). Without a
// NOTIFY_SOCKET every call is a no-op.
class ServiceNotifier {
public:
    void ready(const std::string& status) const;
    void status(const std::string& status) const;
    void stopping(const std::string& status) const;
    void watchdog() const;
    // Half of WATCHDOG_USEC when the watchdog is enabled for this process.
    [[nodiscard]] std::optional<std::chrono::microseconds> watchdogInterval() const;
};

}  // namespace sealport::core
