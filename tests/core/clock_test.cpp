#include "sealport/core/clock.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <regex>

using namespace std::chrono_literals;
using sealport::core::SystemTime;

namespace {

SystemTime atMs(std::int64_t msSinceEpoch) {
    return SystemTime(
        std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(msSinceEpoch)));
}

}  // namespace

TEST_CASE("formatUtc prints UTC with milliseconds and a Z", "[clock]") {
    const auto [ms, text] = GENERATE(table<std::int64_t, std::string>({
        {0, "1970-01-01T00:00:00.000Z"},
        {1795888078123, "2026-11-28T17:47:58.123Z"},
        {1709251199999, "2024-02-29T23:59:59.999Z"},
        {2147483648001, "2038-01-19T03:14:08.001Z"},
        {86400000 + 50, "1970-01-02T00:00:00.050Z"},
    }));
    CAPTURE(ms);
    CHECK(sealport::core::formatUtc(atMs(ms)) == text);
}

TEST_CASE("formatUtc truncates below a millisecond instead of rounding up", "[clock]") {
    const SystemTime t = atMs(1795888078123) + std::chrono::microseconds(999);
    CHECK(sealport::core::formatUtc(t) == "2026-11-28T17:47:58.123Z");
}

TEST_CASE("formatUtc ignores the local time zone", "[clock]") {
    // TZ is read by localtime, not by formatUtc; a far-off zone must not shift the result.
    const char* old = std::getenv("TZ");
    const std::string saved = old != nullptr ? old : "";
    ::setenv("TZ", "Pacific/Kiritimati", 1);
    ::tzset();
    const std::string text = sealport::core::formatUtc(atMs(1795888078123));
    if (old != nullptr)
        ::setenv("TZ", saved.c_str(), 1);
    else
        ::unsetenv("TZ");
    ::tzset();
    CHECK(text == "2026-11-28T17:47:58.123Z");
}

TEST_CASE("a manual clock moves only when told to", "[clock]") {
    sealport::core::ManualClock clock(atMs(1795888078123));
    CHECK(sealport::core::formatUtc(clock.now()) == "2026-11-28T17:47:58.123Z");
    CHECK(clock.now() == clock.now());
    clock.advance(1500ms);
    CHECK(sealport::core::formatUtc(clock.now()) == "2026-11-28T17:47:59.623Z");
    clock.advance(std::chrono::hours(24 * 3));
    CHECK(sealport::core::formatUtc(clock.now()) == "2026-12-01T17:47:59.623Z");
    clock.set(atMs(0));
    CHECK(sealport::core::formatUtc(clock.now()) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("the system clock reads the real time", "[clock]") {
    const sealport::core::SystemClock clock;
    const auto before = std::chrono::system_clock::now();
    const auto now = clock.now();
    const auto after = std::chrono::system_clock::now();
    CHECK(before <= now);
    CHECK(now <= after);
    CHECK(std::regex_match(sealport::core::formatUtc(now),
                           std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}
