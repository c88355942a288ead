#pragma once

#include <chrono>
#include <string>

namespace sealport::core {

using SystemTime = std::chrono::system_clock::time_point;

// The wall clock is an input: components take a Clock, tests pass a virtual one.
class Clock {
public:
    virtual ~Clock() = default;
    [[nodiscard]] virtual SystemTime now() const = 0;
};

class SystemClock final : public Clock {
public:
    [[nodiscard]] SystemTime now() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
public:
    explicit ManualClock(SystemTime start) : now_(start) {}
    [[nodiscard]] SystemTime now() const override { return now_; }
    void advance(std::chrono::milliseconds d) { now_ += d; }
    void set(SystemTime t) { now_ = t; }

private:
    SystemTime now_;
};

// "2026-11-28T17:47:58.123Z"
std::string formatUtc(SystemTime t);

}  // namespace sealport::core
