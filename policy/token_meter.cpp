#include "sealport/policy/token_meter.hpp"

#include <algorithm>

namespace sealport::policy {

FailedTokenMeter::FailedTokenMeter(std::uint32_t threshold, std::chrono::seconds window,
                                   std::size_t maxClients)
    : threshold_(std::max<std::uint32_t>(1, threshold)), window_(window), maxClients_(maxClients) {}

FailedTokenMeter::Level FailedTokenMeter::record(const std::string& client, TimePoint now) {
    auto it = byClient_.find(client);
    if (it == byClient_.end()) {
        if (byClient_.size() >= maxClients_) {
            // Forget the address whose last failure is oldest.
            auto oldest = std::min_element(byClient_.begin(), byClient_.end(), [](const auto& a, const auto& b) {
                return a.second.failures.back() < b.second.failures.back();
            });
            byClient_.erase(oldest);
        }
        it = byClient_.emplace(client, Client{}).first;
    }
    auto& c = it->second;
    auto& q = c.failures;
    while (!q.empty() && (now - q.front() >= window_ || now < q.front())) q.pop_front();
    if (q.empty()) c.crossed = false;  // a quiet window ended the episode
    q.push_back(now);
    // Keep no more than the threshold's worth of history per address.
    while (q.size() > threshold_ + 1) q.pop_front();
    if (c.crossed) return Level::above;
    if (q.size() >= threshold_) {
        c.crossed = true;
        return Level::crossed;
    }
    return Level::below;
}

std::size_t FailedTokenMeter::failures(const std::string& client, TimePoint now) const {
    auto it = byClient_.find(client);
    if (it == byClient_.end()) return 0;
    return static_cast<std::size_t>(std::count_if(it->second.failures.begin(), it->second.failures.end(), [&](TimePoint t) {
        return now - t < window_ && t <= now;
    }));
}

}  // namespace sealport::policy
