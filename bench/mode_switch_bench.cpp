// Incident-mode switch latency: how long `incident enter` takes to be
// committed and acknowledged, and when the new mode becomes visible to the
// other components (a reader thread standing in for the link server, which
// reads the ModeGate on every request).
//
// Real parts: a SQLCipher state on disk (synchronous = FULL, WAL), the real
// ModeController, audit chain and recovery checklist. Each round enters
// incident mode (timed), then leaves it with two approvals (not timed).
//
//   mode_switch_bench [--switches N] [--dir DIR] [--json]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sealport/core/keys.hpp"
#include "sealport/core/mode_gate.hpp"
#include "sealport/core/notify.hpp"
#include "sealport/recovery/checklist.hpp"
#include "sealport/runtime/mode_controller.hpp"
#include "sealport/state/state.hpp"

using namespace sealport;
using Steady = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto idx = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(idx, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    int switches = 1000;
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "sealport-mode-bench";
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--switches") && i + 1 < argc) switches = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!std::strcmp(argv[i], "--json")) json = true;
        else {
            std::cerr << "usage: mode_switch_bench [--switches N] [--dir DIR] [--json]\n";
            return 64;
        }
    }
    std::filesystem::remove_all(dir);

    core::SecretBytes master(32);
    core::randomBytes(std::span<std::uint8_t>(master.data(), master.size()));
    const auto keys = core::deriveKeyRing(master);
    core::SystemClock clock;
    state::State st(dir, keys, clock, 64);
    core::ModeGate gate;
    core::ServiceNotifier notifier;  // no NOTIFY_SOCKET: a no-op
    runtime::Alerts alerts;
    policy::Settings settings;
    runtime::ModeController mode(st, gate, settings, clock, notifier, alerts);
    mode.restore();
    recovery::Checklist checklist;
    checklist.add(recovery::auditChainCheck(st));
    checklist.add(recovery::databaseIntegrityCheck(st));

    // The reader: what every request handler does, a load of the gate.
    // It notes the time it first sees each new generation of the gate (a
    // generation, not the mode, so that a missed online->incident flip cannot
    // go unseen).
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> seenGeneration{gate.generation()};
    std::atomic<std::int64_t> seenAt{0};
    std::thread reader([&] {
        std::uint64_t last = gate.generation();
        while (!stop.load(std::memory_order_relaxed)) {
            const std::uint64_t g = gate.generation();
            if (g != last && gate.current() == policy::Mode::incident) {
                seenAt.store(Steady::now().time_since_epoch().count(), std::memory_order_relaxed);
                seenGeneration.store(g, std::memory_order_release);
            }
            last = g;
        }
    });

    std::vector<double> enterMs, ackToVisibleUs, requestToVisibleUs;
    int visibleBeforeAck = 0;
    const state::Actor officer{0, 1, "security"};
    const state::Actor officerB{1, 2, "security"};
    for (int i = 0; i < switches; ++i) {
        policy::Event enter;
        enter.kind = policy::Event::Kind::enter_incident;
        enter.uid = 0;
        enter.roles = {policy::Role::security};
        enter.reason = "bench";
        const auto t0 = Steady::now();
        mode.apply(enter, officer);
        const auto ack = Steady::now();
        const std::uint64_t target = gate.generation();
        // A reader that never sees the switch is a failure to report, not a hang.
        const auto deadline = Steady::now() + std::chrono::seconds(10);
        while (seenGeneration.load(std::memory_order_acquire) < target) {
            if (Steady::now() > deadline) {
                std::cerr << "round " << i << ": the reader did not see generation " << target << " (saw "
                          << seenGeneration.load() << ", gate at " << gate.generation() << ", mode "
                          << policy::toString(gate.current()) << ")\n";
                stop = true;
                reader.join();
                return 1;
            }
            std::this_thread::yield();
        }
        const auto visible = Steady::time_point(Steady::duration(seenAt.load(std::memory_order_relaxed)));
        enterMs.push_back(std::chrono::duration<double, std::milli>(ack - t0).count());
        ackToVisibleUs.push_back(std::chrono::duration<double, std::micro>(visible - ack).count());
        requestToVisibleUs.push_back(std::chrono::duration<double, std::micro>(visible - t0).count());
        if (visible <= ack) ++visibleBeforeAck;

        for (std::uint32_t uid : {0U, 1U}) {
            policy::Event exit;
            exit.kind = policy::Event::Kind::approve_exit;
            exit.uid = uid;
            exit.roles = {policy::Role::security};
            exit.checks = checklist.run();
            mode.apply(exit, uid == 0 ? officer : officerB);
        }
        if (gate.current() != policy::Mode::online) {
            std::cerr << "round " << i << ": did not return online\n";
            return 1;
        }
    }
    stop = true;
    reader.join();

    const nlohmann::json out = {
        {"switches", switches},
        {"audit_entries", st.audit().entries()},
        {"enter_to_ack_ms", {{"p50", percentile(enterMs, 50)}, {"p99", percentile(enterMs, 99)}, {"max", percentile(enterMs, 100)}}},
        {"ack_to_visible_us", {{"p50", percentile(ackToVisibleUs, 50)}, {"p99", percentile(ackToVisibleUs, 99)}, {"max", percentile(ackToVisibleUs, 100)}}},
        {"request_to_visible_us", {{"p50", percentile(requestToVisibleUs, 50)}, {"p99", percentile(requestToVisibleUs, 99)}}},
        {"visible_before_ack", visibleBeforeAck},
    };
    if (json) {
        std::cout << out.dump(2) << "\n";
    } else {
        std::printf("incident enter, %d switches (SQLCipher on %s)\n", switches, dir.c_str());
        std::printf("  enter -> ack (commit incl. fsync):   p50 %.3f ms   p99 %.3f ms   max %.3f ms\n",
                    percentile(enterMs, 50), percentile(enterMs, 99), percentile(enterMs, 100));
        std::printf("  ack -> visible to a reader thread:   p50 %.1f us   p99 %.1f us   max %.1f us\n",
                    percentile(ackToVisibleUs, 50), percentile(ackToVisibleUs, 99), percentile(ackToVisibleUs, 100));
        std::printf("  request -> visible:                  p50 %.1f us   p99 %.1f us\n",
                    percentile(requestToVisibleUs, 50), percentile(requestToVisibleUs, 99));
        std::printf("  visible at or before the ack in %d of %d switches\n", visibleBeforeAck, switches);
    }
    std::filesystem::remove_all(dir);
    return 0;
}
