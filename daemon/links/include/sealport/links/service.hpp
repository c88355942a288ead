#pragma once

// The online-link service: what /s/<token>, /s/<token>/download and the RIS
// API answer, and the issuing of links shared with `sealportctl link create`.
// Every request first consults the mode gate: outside online mode nothing is
// looked up and no patient data leaves. Every decision that releases patient
// data (a view, a download, a new link) is audited with the remote address.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sealport/core/clock.hpp"
#include "sealport/core/mode_gate.hpp"
#include "sealport/links/http.hpp"
#include "sealport/policy/roles.hpp"
#include "sealport/policy/settings.hpp"
#include "sealport/state/links.hpp"
#include "sealport/state/state.hpp"

namespace sealport::links {

struct LinkServiceSettings {
    std::string publicUrl;             // "https://host[:port]", no trailing slash
    std::filesystem::path scratchDir;  // private tmpfs directory (DICOMDIRs are built through a file)
    std::string version;               // for README.TXT
};

// What is asked for: by an operator (sealportctl) or a RIS (POST /api/v1/links).
struct LinkRequest {
    std::vector<std::string> studyUids;
    std::string recipient;
    std::optional<std::uint32_t> ttlDays;
    std::optional<std::uint32_t> maxDownloads;
};

// Validates a JSON body of POST /api/v1/links:
// {"study_uid": UID | "study_uids": [UID...], "recipient": TEXT, "ttl_days": N, "max_downloads": N}.
// Returns the request or a message for the client. Never throws.
std::variant<LinkRequest, std::string> parseLinkRequest(std::string_view body);

struct IssuedLink {
    state::LinkRecord link;
    std::string url;  // carries the token: shown once, never logged
    std::string expiresAt;
};

struct LinkRefusal {
    enum class Kind { invalid, unknown_study, policy } kind;
    std::string message;
    std::string rule;  // the policy rule, when the policy refused
};

// Where the service reads and writes: the caller's own connection.
struct StateAccess {
    state::Database& db;
    state::AuditLog& audit;
    state::Catalogue& catalogue;
};

struct LinkHooks {
    // One failed token (or API key) look-up from a client (the tripwire).
    std::function<void(const std::string& client, policy::TimePoint now)> failedTokenLookup;
};

class LinkService {
public:
    LinkService(state::State& state, const core::ModeGate& gate, const policy::Settings& policy,
                const core::Clock& clock, LinkHooks hooks, LinkServiceSettings settings);
    ~LinkService();
    LinkService(const LinkService&) = delete;
    LinkService& operator=(const LinkService&) = delete;

    // The HTTP entry point; thread-safe (each worker thread uses its own
    // database connection).
    HttpResponse handle(const HttpRequest& request);

    // Issues a link after the policy's decision, and audits it (link.create,
    // refused or not). `createdBy`: "uid:N" or "apikey:<id>".
    std::variant<IssuedLink, LinkRefusal> issue(StateAccess access, const LinkRequest& request,
                                                const state::Actor& actor, policy::RoleSet roles,
                                                std::optional<std::uint32_t> callerUid, const std::string& createdBy,
                                                const std::string& remote);

    [[nodiscard]] const std::string& publicUrl() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sealport::links
