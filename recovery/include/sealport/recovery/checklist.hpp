#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sealport/policy/decision.hpp"
#include "sealport/state/state.hpp"

namespace sealport::recovery {

// One item of the checklist that must be green before incident mode can be left.
class Check {
public:
    virtual ~Check() = default;
    [[nodiscard]] virtual std::string name() const = 0;
    [[nodiscard]] virtual policy::CheckResult run() = 0;
};

// The recovery checklist. Later capabilities add their checks here (blob
// integrity sweep, key rotation, deferred queue); a check that throws is red.
class Checklist {
public:
    void add(std::unique_ptr<Check> check);
    [[nodiscard]] std::vector<policy::CheckResult> run();
    [[nodiscard]] static bool allGreen(const std::vector<policy::CheckResult>& results);

private:
    std::vector<std::unique_ptr<Check>> checks_;
};

// "audit-chain": the audit chain verifies end to end.
std::unique_ptr<Check> auditChainCheck(state::State& state);
// "database-integrity": PRAGMA integrity_check says ok.
std::unique_ptr<Check> databaseIntegrityCheck(state::State& state);

}  // namespace sealport::recovery
