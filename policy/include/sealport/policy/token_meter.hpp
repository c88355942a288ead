#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "sealport/policy/settings.hpp"

namespace sealport::policy {

// Counts failed token look-ups per client address over a sliding window.
// Pure: the time of each failure is an input. Memory is bounded: at most
// `maxClients` addresses are tracked; the oldest is forgotten first.
class FailedTokenMeter {
public:
    using TimePoint = std::chrono::system_clock::time_point;
    enum class Level : std::uint8_t { below, crossed, above };

    FailedTokenMeter(std::uint32_t threshold, std::chrono::seconds window, std::size_t maxClients = 4096);

    // Records one failure; `crossed` exactly once when the address reaches the
    // threshold within the window, `above` for every failure after that until
    // the address has been quiet for a whole window.
    Level record(const std::string& client, TimePoint now);
    [[nodiscard]] std::size_t failures(const std::string& client, TimePoint now) const;

private:
    std::uint32_t threshold_;
    std::chrono::seconds window_;
    std::size_t maxClients_;
    struct Client {
        std::deque<TimePoint> failures;
        // Crossed in this episode; the episode ends only when a whole window
        // passes without a failure, so a steady rate at the threshold alerts once.
        bool crossed = false;
    };
    std::map<std::string, Client> byClient_;
};

}  // namespace sealport::policy
