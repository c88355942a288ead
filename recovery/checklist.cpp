#include "sealport/recovery/checklist.hpp"

namespace sealport::recovery {
namespace {

class AuditChainCheck final : public Check {
public:
    explicit AuditChainCheck(state::State& s) : state_(s) {}
    [[nodiscard]] std::string name() const override { return "audit-chain"; }
    [[nodiscard]] policy::CheckResult run() override {
        const auto v = state_.audit().verify();
        if (v.ok)
            return {name(), true,
                    std::to_string(v.entries) + " entries and " + std::to_string(v.checkpoints) +
                        " signed checkpoints verify"};
        return {name(), false,
                "broken at entry " + std::to_string(v.firstBad.value_or(0)) + ": " + v.reason};
    }

private:
    state::State& state_;
};

class DatabaseIntegrityCheck final : public Check {
public:
    explicit DatabaseIntegrityCheck(state::State& s) : state_(s) {}
    [[nodiscard]] std::string name() const override { return "database-integrity"; }
    [[nodiscard]] policy::CheckResult run() override {
        const std::string r = state_.db().integrityCheck();
        return {name(), r == "ok", r == "ok" ? "PRAGMA integrity_check: ok" : r};
    }

private:
    state::State& state_;
};

}  // namespace

void Checklist::add(std::unique_ptr<Check> check) { checks_.push_back(std::move(check)); }

std::vector<policy::CheckResult> Checklist::run() {
    std::vector<policy::CheckResult> out;
    for (auto& c : checks_) {
        try {
            out.push_back(c->run());
        } catch (const std::exception& e) {
            out.push_back({c->name(), false, std::string("the check failed to run: ") + e.what()});
        }
    }
    return out;
}

bool Checklist::allGreen(const std::vector<policy::CheckResult>& results) {
    if (results.empty()) return false;
    for (const auto& r : results)
        if (!r.ok) return false;
    return true;
}

std::unique_ptr<Check> auditChainCheck(state::State& s) { return std::make_unique<AuditChainCheck>(s); }
std::unique_ptr<Check> databaseIntegrityCheck(state::State& s) {
    return std::make_unique<DatabaseIntegrityCheck>(s);
}

}  // namespace sealport::recovery
