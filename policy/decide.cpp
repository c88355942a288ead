#include <algorithm>
#include <functional>

#include "sealport/policy/decision.hpp"

namespace sealport::policy {
namespace {

struct Input {
    Mode mode;
    Action action;
    const Context& ctx;
    const Settings& settings;
};

using Verdictor = std::optional<Decision> (*)(const Input&);

struct Rule {
    std::string_view name;
    Verdictor apply;
};

Decision deny(std::string_view rule, std::vector<std::string> reasons) {
    return Decision{Verdict::deny, std::string(rule), std::move(reasons)};
}

Decision allow(std::string_view rule, std::string reason) {
    return Decision{Verdict::allow, std::string(rule), {std::move(reason)}};
}

bool contains(const std::vector<Channel>& cs, Channel c) {
    return std::find(cs.begin(), cs.end(), c) != cs.end();
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::optional<Channel> channelOf(Action a) {
    if (a == Action::issue_link || a == Action::serve_link) return Channel::link;
    if (a == Action::export_media) return Channel::media;
    return std::nullopt;
}

// The rules, in the order they are evaluated. The first that returns a
// decision decides.
constexpr Rule kRules[] = {
    // In incident mode no link is served or issued, before anything else is looked at.
    {"incident.links-suspended",
     [](const Input& in) -> std::optional<Decision> {
         if (in.mode != Mode::incident) return std::nullopt;
         if (in.action != Action::serve_link && in.action != Action::issue_link) return std::nullopt;
         return deny("incident.links-suspended",
                     {"online sharing is suspended in incident mode; images are released on "
                      "new sealed media only"});
     }},
    {"role.required",
     [](const Input& in) -> std::optional<Decision> {
         const RoleSet needed = rolesFor(in.action);
         if (needed.empty() || needed.intersects(in.ctx.roles)) return std::nullopt;
         std::string names;
         for (const auto& n : needed.names()) names += (names.empty() ? "" : " or ") + n;
         return deny("role.required",
                     {std::string(toString(in.action)) + " needs the " + names + " role"});
     }},
    {"channel.closed",
     [](const Input& in) -> std::optional<Decision> {
         const auto ch = channelOf(in.action);
         if (!ch) return std::nullopt;
         const auto& open = in.mode == Mode::online ? in.settings.onlineChannels
                                                     : in.settings.incidentChannels;
         if (contains(open, *ch)) return std::nullopt;
         return deny("channel.closed", {"export over " + std::string(toString(*ch)) +
                                        " is not allowed in " +
                                        std::string(toString(in.mode)) + " mode by policy"});
     }},
    {"ingest.calling-ae",
     [](const Input& in) -> std::optional<Decision> {
         if (in.action != Action::ingest) return std::nullopt;
         const auto& allowed = in.mode == Mode::online ? in.settings.onlineCallingAes
                                                       : in.settings.incidentCallingAes;
         if (!in.ctx.callingAe.empty() && contains(allowed, in.ctx.callingAe))
             return allow("ingest.calling-ae", "calling AE '" + in.ctx.callingAe +
                                                   "' is allowed in " +
                                                   std::string(toString(in.mode)) + " mode");
         return deny("ingest.calling-ae", {"calling AE '" + in.ctx.callingAe +
                                           "' is not allowed to send in " +
                                           std::string(toString(in.mode)) + " mode"});
     }},
    {"import.incident",
     [](const Input& in) -> std::optional<Decision> {
         if (in.action != Action::import_files || in.mode != Mode::incident) return std::nullopt;
         return deny("import.incident",
                     {"file import is closed in incident mode: files from the recovering "
                      "network are not trusted; send from an allow-listed AE instead"});
     }},
    {"media.eligible",
     [](const Input& in) -> std::optional<Decision> {
         if (in.action != Action::export_media) return std::nullopt;
         const MediaFacts& m = in.ctx.media;
         std::vector<std::string> why;
         if (!m.present) why.emplace_back("no medium identified");
         if (m.present && !m.removable) why.emplace_back("the device is not removable");
         if (m.present && !m.usb) why.emplace_back("the device is not on USB");
         if (!m.attestedSealed) why.emplace_back("the operator did not attest a sealed package");
         if (m.present && !m.looksNew) why.emplace_back("the medium does not look new");
         if (m.inLedger) why.emplace_back("this medium was written by the appliance before");
         if (m.present && m.capacityBytes < m.requiredBytes)
             why.emplace_back("the medium is too small for the studies");
         if (m.requiredBytes == 0) why.emplace_back("nothing to export");
         if (!why.empty()) return deny("media.eligible", std::move(why));
         return allow("media.eligible", "a new sealed USB medium, large enough");
     }},
    {"link.limits",
     [](const Input& in) -> std::optional<Decision> {
         if (in.action != Action::issue_link) return std::nullopt;
         std::vector<std::string> why;
         const auto ttl = in.ctx.ttlDays.value_or(in.settings.linkTtlDaysDefault);
         const auto downloads = in.ctx.maxDownloads.value_or(in.settings.maxDownloadsDefault);
         if (ttl == 0 || ttl > in.settings.linkTtlDaysMax)
             why.push_back("a link lives 1 to " + std::to_string(in.settings.linkTtlDaysMax) +
                           " days, not " + std::to_string(ttl));
         if (downloads == 0 || downloads > in.settings.maxDownloadsMax)
             why.push_back("a link allows 1 to " + std::to_string(in.settings.maxDownloadsMax) +
                           " downloads, not " + std::to_string(downloads));
         if (!why.empty()) return deny("link.limits", std::move(why));
         return allow("link.limits", "within the policy's TTL and download limits");
     }},
    {"exit.preconditions",
     [](const Input& in) -> std::optional<Decision> {
         if (in.action != Action::approve_exit) return std::nullopt;
         if (in.mode != Mode::incident)
             return deny("exit.preconditions", {"the appliance is not in incident mode"});
         std::vector<std::string> red;
         for (const auto& c : in.ctx.checks)
             if (!c.ok) red.push_back("recovery check '" + c.name + "' is red: " + c.detail);
         if (in.ctx.checks.empty()) red.emplace_back("no recovery check was run");
         if (!in.ctx.callerUid) red.emplace_back("the approving officer is not identified");
         if (!red.empty()) return deny("exit.preconditions", std::move(red));
         return allow("exit.preconditions", "recovery checks are green");
     }},
    {"link.valid",
     [](const Input& in) -> std::optional<Decision> {
         if (in.action != Action::serve_link) return std::nullopt;
         if (!in.ctx.linkValid)
             return deny("link.valid", {"the link is unknown, expired, revoked or used up"});
         return allow("link.valid", "a live link in online mode");
     }},
    {"role.granted",
     [](const Input& in) -> std::optional<Decision> {
         switch (in.action) {
             case Action::enter_incident:
             case Action::rotate_keys:
             case Action::backup:
             case Action::read_audit:
             case Action::recovery_check:
             case Action::import_files:
                 return allow("role.granted", std::string(toString(in.action)) + " allowed in " +
                                                  std::string(toString(in.mode)) + " mode");
             default:
                 return std::nullopt;
         }
     }},
};

}  // namespace

std::string_view toString(Channel c) noexcept { return c == Channel::link ? "link" : "media"; }

std::string_view toString(Verdict v) noexcept { return v == Verdict::allow ? "allow" : "deny"; }

std::string_view toString(Action a) noexcept {
    switch (a) {
        case Action::issue_link: return "issue_link";
        case Action::serve_link: return "serve_link";
        case Action::export_media: return "export_media";
        case Action::ingest: return "ingest";
        case Action::import_files: return "import";
        case Action::enter_incident: return "enter_incident";
        case Action::approve_exit: return "approve_exit";
        case Action::rotate_keys: return "rotate_keys";
        case Action::backup: return "backup";
        case Action::read_audit: return "read_audit";
        case Action::recovery_check: return "recovery_check";
    }
    return "unknown";
}

RoleSet rolesFor(Action a) noexcept {
    switch (a) {
        case Action::issue_link: return {Role::operator_, Role::ris};
        case Action::export_media:
        case Action::import_files: return {Role::operator_};
        case Action::enter_incident:
        case Action::approve_exit:
        case Action::rotate_keys:
        case Action::backup:
        case Action::recovery_check: return {Role::security};
        case Action::read_audit: return {Role::auditor, Role::security};
        case Action::serve_link:
        case Action::ingest: return {};
    }
    return {};
}

Decision decide(Mode mode, Action action, const Context& ctx, const Settings& settings) {
    const Input in{mode, action, ctx, settings};
    for (const Rule& rule : kRules) {
        if (auto d = rule.apply(in)) return *d;
    }
    return deny("default-deny", {"no rule allows " + std::string(toString(action)) + " in " +
                                 std::string(toString(mode)) + " mode"});
}

std::vector<std::string_view> ruleNames() {
    std::vector<std::string_view> out;
    for (const Rule& r : kRules) out.push_back(r.name);
    out.emplace_back("default-deny");
    return out;
}

}  // namespace sealport::policy
