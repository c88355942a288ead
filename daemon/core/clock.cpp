#include "sealport/core/clock.hpp"

#include <ctime>

namespace sealport::core {

std::string formatUtc(SystemTime t) {
    using namespace std::chrono;
    const auto ms = time_point_cast<milliseconds>(t);
    const std::time_t secs = system_clock::to_time_t(ms);
    const auto frac = static_cast<int>((ms.time_since_epoch() % seconds(1)).count());
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%.*s.%03dZ", static_cast<int>(n), buf, frac < 0 ? 0 : frac);
    return out;
}

}  // namespace sealport::core
