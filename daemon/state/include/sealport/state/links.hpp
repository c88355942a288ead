#pragma once

// Links, RIS API keys and the deferred queue, in the encrypted database.
// Secrets (link tokens, API keys) are stored only as their SHA-256; the
// plaintext is returned once, at creation. Every call runs in the caller's
// transaction when one is open, so an audit entry commits with its change.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sealport/state/database.hpp"

namespace sealport::state {

enum class LinkState { live, expired, revoked, exhausted };
std::string_view toString(LinkState s) noexcept;

struct LinkRecord {
    std::string id;
    std::vector<std::string> studyUids;  // in the order given at creation
    std::string recipient;
    std::string createdBy;  // "uid:N" or "apikey:<id>"
    std::int64_t createdMs = 0, expiresMs = 0;
    std::int64_t maxDownloads = 0, downloads = 0;
    std::optional<std::int64_t> revokedMs;
    std::string revokedReason;

    [[nodiscard]] LinkState stateAt(std::int64_t nowMs) const noexcept;
};

struct CreatedLink {
    LinkRecord link;
    std::string token;  // shown once; only its digest is stored
};

class LinkStore {
public:
    explicit LinkStore(Database& db) : db_(db) {}

    CreatedLink create(const std::vector<std::string>& studyUids, const std::string& recipient,
                       const std::string& createdBy, std::int64_t nowMs, std::int64_t expiresMs,
                       std::int64_t maxDownloads);
    // Looked up by the token's digest; nullopt when no link has this token.
    [[nodiscard]] std::optional<LinkRecord> byToken(std::string_view token);
    [[nodiscard]] std::optional<LinkRecord> byId(const std::string& id);
    [[nodiscard]] std::vector<LinkRecord> list();
    [[nodiscard]] std::int64_t countLive(std::int64_t nowMs);
    // False when there is no such link or it was already revoked.
    bool revoke(const std::string& id, std::int64_t nowMs, const std::string& reason);
    // Counts one download if the link is live at `nowMs`, atomically (two
    // clients racing for the last download cannot both have it). Returns the
    // link after counting, or nullopt when it was not live.
    std::optional<LinkRecord> countDownload(const std::string& id, std::int64_t nowMs);

private:
    LinkRecord load(Statement& s);
    Database& db_;
};

struct ApiKeyRecord {
    std::string id, name, role, createdAt, createdBy;
    std::optional<std::string> revokedAt, lastUsedAt;
};

struct CreatedApiKey {
    ApiKeyRecord key;
    std::string secret;  // shown once
};

class ApiKeyStore {
public:
    explicit ApiKeyStore(Database& db) : db_(db) {}
    CreatedApiKey create(const std::string& name, const std::string& role, const std::string& createdAt,
                         const std::string& createdBy);
    // Revoked keys are found too: the caller refuses them and says why.
    [[nodiscard]] std::optional<ApiKeyRecord> bySecret(std::string_view secret);
    [[nodiscard]] std::vector<ApiKeyRecord> list();
    bool revoke(const std::string& id, const std::string& at);
    void markUsed(const std::string& id, const std::string& at);

private:
    Database& db_;
};

// RIS link requests that arrived in incident mode: kept, not lost, and issued
// (or refused) by the recovery after the incident.
struct DeferredRequest {
    std::string id, apiKeyId, receivedAt;
    std::string request;  // the validated request, as JSON
    std::string status;   // "pending", "issued", "refused"
    std::optional<std::string> linkId;
    std::string detail;
};

class DeferredQueue {
public:
    explicit DeferredQueue(Database& db) : db_(db) {}
    std::string add(const std::string& apiKeyId, const std::string& receivedAt, const std::string& requestJson);
    [[nodiscard]] std::optional<DeferredRequest> get(const std::string& id);
    [[nodiscard]] std::vector<DeferredRequest> pending();

private:
    Database& db_;
};

}  // namespace sealport::state
