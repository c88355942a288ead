#pragma once

// decide(mode, action, context, settings) -> Decision. Pure: the clock, the
// caller, the media facts and the recovery checks are inputs in Context;
// nothing here reads a clock, a file or a database. Rules are evaluated in
// order, the first that matches decides, and the default is deny with its own
// rule name.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sealport/policy/mode.hpp"
#include "sealport/policy/roles.hpp"
#include "sealport/policy/settings.hpp"

namespace sealport::policy {

using TimePoint = std::chrono::system_clock::time_point;

enum class Action : std::uint8_t {
    issue_link,      // create a link (operator, RIS)
    serve_link,      // answer /s/<token> (anonymous; the token is the credential)
    export_media,    // write a study to USB media (operator)
    ingest,          // accept a C-STORE association (a calling AE)
    import_files,    // sealportctl import (operator)
    enter_incident,  // security
    approve_exit,    // security: one of two approvals to leave incident mode
    rotate_keys,     // security
    backup,          // security
    read_audit,      // auditor, security
    recovery_check,  // security
};
std::string_view toString(Action a) noexcept;
inline constexpr Action kAllActions[] = {
    Action::issue_link, Action::serve_link,     Action::export_media, Action::ingest,
    Action::import_files, Action::enter_incident, Action::approve_exit, Action::rotate_keys,
    Action::backup,     Action::read_audit,     Action::recovery_check};

// What the appliance knows of a presented medium (the media capability fills it).
// Default-constructed: nothing is known, so nothing is eligible.
struct MediaFacts {
    bool present = false;         // a device was identified
    bool removable = false;       // the kernel says removable
    bool usb = false;             // on a USB bus
    bool attestedSealed = false;  // the operator attests the packaging was sealed
    bool looksNew = false;        // the appliance's new-media checks passed
    bool inLedger = false;        // this appliance wrote to it before
    std::uint64_t capacityBytes = 0;
    std::uint64_t requiredBytes = 0;
};

struct CheckResult {
    std::string name;
    bool ok = false;
    std::string detail;
    bool operator==(const CheckResult&) const = default;
};

struct Context {
    TimePoint now{};
    std::optional<std::uint32_t> callerUid;
    RoleSet roles;
    std::string callingAe;  // ingest
    MediaFacts media;       // export_media
    std::vector<CheckResult> checks;  // approve_exit: the recovery checklist
    std::optional<std::uint32_t> ttlDays;       // issue_link
    std::optional<std::uint32_t> maxDownloads;  // issue_link
    bool linkValid = false;  // serve_link: the token names a live link (not expired, revoked, exhausted)
};

enum class Verdict : std::uint8_t { deny, allow };
std::string_view toString(Verdict v) noexcept;

struct Decision {
    Verdict verdict = Verdict::deny;
    std::string rule = "default-deny";
    std::vector<std::string> reasons;
    [[nodiscard]] bool allowed() const noexcept { return verdict == Verdict::allow; }
};

// The roles that may ask for an action; empty for actions whose caller is not
// a local person (serve_link, ingest).
RoleSet rolesFor(Action a) noexcept;

Decision decide(Mode mode, Action action, const Context& ctx, const Settings& settings);

// The names of the rules in evaluation order (for docs and --check-config).
std::vector<std::string_view> ruleNames();

}  // namespace sealport::policy
