#include "sealport/core/notify.hpp"

#include <systemd/sd-daemon.h>

namespace sealport::core {

void ServiceNotifier::ready(const std::string& status) const {
    (void)sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}

void ServiceNotifier::status(const std::string& status) const {
    (void)sd_notify(0, ("STATUS=" + status).c_str());
}

void ServiceNotifier::stopping(const std::string& status) const {
    (void)sd_notify(0, ("STOPPING=1\nSTATUS=" + status).c_str());
}

void ServiceNotifier::watchdog() const { (void)sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::microseconds> ServiceNotifier::watchdogInterval() const {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    return std::chrono::microseconds(usec / 2);
}

}  // namespace sealport::core
