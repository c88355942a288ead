#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "sealport/policy/mode.hpp"

namespace sealport::core {

// The one source of truth for the current mode, read by every component on
// every request. Reads are a single atomic load. The mode controller publishes
// a new mode only after it is committed to the encrypted state, and before it
// acknowledges the command, so nothing observes the old mode afterwards.
// Starts in incident mode: until the state says otherwise, nothing is served.
class ModeGate {
public:
    using Listener = std::function<void(policy::Mode)>;

    [[nodiscard]] policy::Mode current() const noexcept { return mode_.load(std::memory_order_acquire); }
    [[nodiscard]] bool online() const noexcept { return current() == policy::Mode::online; }
    // Increases on every published change; lets a long operation notice a change cheaply.
    [[nodiscard]] std::uint64_t generation() const noexcept {
        return generation_.load(std::memory_order_acquire);
    }

    // Stores the mode, then calls every listener on this thread (e.g. to cut
    // downloads in flight).
    void publish(policy::Mode mode);
    void onChange(Listener listener);

private:
    std::atomic<policy::Mode> mode_{policy::Mode::incident};
    std::atomic<std::uint64_t> generation_{0};
    std::mutex listenersMutex_;
    std::vector<Listener> listeners_;
};

}  // namespace sealport::core
