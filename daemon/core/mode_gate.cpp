#include "sealport/core/mode_gate.hpp"

namespace sealport::core {

void ModeGate::publish(policy::Mode mode) {
    mode_.store(mode, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    std::vector<Listener> copy;
    {
        std::lock_guard lock(listenersMutex_);
        copy = listeners_;
    }
    for (const auto& l : copy) l(mode);
}

void ModeGate::onChange(Listener listener) {
    std::lock_guard lock(listenersMutex_);
    listeners_.push_back(std::move(listener));
}

}  // namespace sealport::core
