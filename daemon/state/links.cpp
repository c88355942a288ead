#include "sealport/state/links.hpp"

#include "sealport/core/token.hpp"

namespace sealport::state {

std::string_view toString(LinkState s) noexcept {
    switch (s) {
        case LinkState::live: return "live";
        case LinkState::expired: return "expired";
        case LinkState::revoked: return "revoked";
        case LinkState::exhausted: return "exhausted";
    }
    return "unknown";
}

LinkState LinkRecord::stateAt(std::int64_t nowMs) const noexcept {
    if (revokedMs) return LinkState::revoked;
    if (nowMs >= expiresMs) return LinkState::expired;
    if (downloads >= maxDownloads) return LinkState::exhausted;
    return LinkState::live;
}

namespace {
constexpr std::string_view kLinkColumns =
    "id, recipient, created_by, created_ms, expires_ms, max_downloads, downloads, revoked_ms, revoked_reason";

std::span<const std::uint8_t> digestSpan(const core::Sha256Digest& d) { return {d.data(), d.size()}; }

std::optional<std::string> optText(Statement& s, int col) {
    if (s.isNull(col)) return std::nullopt;
    return s.text(col);
}
}  // namespace

LinkRecord LinkStore::load(Statement& s) {
    LinkRecord r;
    r.id = s.text(0);
    r.recipient = s.text(1);
    r.createdBy = s.text(2);
    r.createdMs = s.integer(3);
    r.expiresMs = s.integer(4);
    r.maxDownloads = s.integer(5);
    r.downloads = s.integer(6);
    if (!s.isNull(7)) r.revokedMs = s.integer(7);
    r.revokedReason = s.isNull(8) ? std::string() : s.text(8);
    Statement studies = db_.prepare("SELECT study_uid FROM link_study WHERE link_id = ? ORDER BY position");
    studies.bind(1, r.id);
    while (studies.step()) r.studyUids.push_back(studies.text(0));
    return r;
}

CreatedLink LinkStore::create(const std::vector<std::string>& studyUids, const std::string& recipient,
                              const std::string& createdBy, std::int64_t nowMs, std::int64_t expiresMs,
                              std::int64_t maxDownloads) {
    Database::Transaction tx(db_);
    CreatedLink out;
    out.token = core::generateToken();
    out.link.id = core::randomId("lnk_");
    out.link.studyUids = studyUids;
    out.link.recipient = recipient;
    out.link.createdBy = createdBy;
    out.link.createdMs = nowMs;
    out.link.expiresMs = expiresMs;
    out.link.maxDownloads = maxDownloads;
    Statement ins = db_.prepare(
        "INSERT INTO link (id, token_sha256, recipient, created_by, created_ms, expires_ms, max_downloads, downloads) "
        "VALUES (?,?,?,?,?,?,?,0)");
    const auto digest = core::tokenDigest(out.token);
    ins.bind(1, out.link.id).bind(2, digestSpan(digest)).bind(3, recipient).bind(4, createdBy);
    ins.bind(5, nowMs).bind(6, expiresMs).bind(7, maxDownloads);
    ins.step();
    for (std::size_t i = 0; i < studyUids.size(); ++i) {
        Statement st = db_.prepare("INSERT INTO link_study (link_id, position, study_uid) VALUES (?,?,?)");
        st.bind(1, out.link.id).bind(2, static_cast<std::int64_t>(i)).bind(3, studyUids[i]);
        st.step();
    }
    tx.commit();
    return out;
}

// Secrets are looked up by their SHA-256: an index comparison on a digest
// tells a timing attacker nothing about the secret (finding a token whose
// digest shares a prefix with a stored one is a preimage search). The row's
// digest is then compared once more in constant time, so that no shortcut of
// the index can accept a near miss.
std::optional<LinkRecord> LinkStore::byToken(std::string_view token) {
    const auto digest = core::tokenDigest(token);
    Statement s = db_.prepare("SELECT " + std::string(kLinkColumns) + ", token_sha256 FROM link WHERE token_sha256 = ?");
    s.bind(1, digestSpan(digest));
    if (!s.step()) return std::nullopt;
    if (!core::constantTimeEqual(s.blob(9), digestSpan(digest))) return std::nullopt;
    return load(s);
}

std::optional<LinkRecord> LinkStore::byId(const std::string& id) {
    Statement s = db_.prepare("SELECT " + std::string(kLinkColumns) + " FROM link WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return load(s);
}

std::vector<LinkRecord> LinkStore::list() {
    std::vector<LinkRecord> out;
    Statement s = db_.prepare("SELECT " + std::string(kLinkColumns) + " FROM link ORDER BY created_ms, id");
    while (s.step()) out.push_back(load(s));
    return out;
}

std::int64_t LinkStore::countLive(std::int64_t nowMs) {
    Statement s = db_.prepare(
        "SELECT count(*) FROM link WHERE revoked_ms IS NULL AND expires_ms > ? AND downloads < max_downloads");
    s.bind(1, nowMs);
    s.step();
    return s.integer(0);
}

bool LinkStore::revoke(const std::string& id, std::int64_t nowMs, const std::string& reason) {
    Statement s = db_.prepare("UPDATE link SET revoked_ms = ?, revoked_reason = ? WHERE id = ? AND revoked_ms IS NULL");
    s.bind(1, nowMs).bind(2, reason).bind(3, id);
    s.step();
    return sqlite3_changes(db_.handle()) == 1;
}

std::optional<LinkRecord> LinkStore::countDownload(const std::string& id, std::int64_t nowMs) {
    Database::Transaction tx(db_);
    Statement s = db_.prepare(
        "UPDATE link SET downloads = downloads + 1 WHERE id = ? AND revoked_ms IS NULL AND expires_ms > ? "
        "AND downloads < max_downloads");
    s.bind(1, id).bind(2, nowMs);
    s.step();
    if (sqlite3_changes(db_.handle()) != 1) return std::nullopt;
    auto after = byId(id);
    tx.commit();
    return after;
}

CreatedApiKey ApiKeyStore::create(const std::string& name, const std::string& role, const std::string& createdAt,
                                  const std::string& createdBy) {
    CreatedApiKey out;
    out.secret = core::generateToken();
    out.key.id = core::randomId("key_");
    out.key.name = name;
    out.key.role = role;
    out.key.createdAt = createdAt;
    out.key.createdBy = createdBy;
    Statement s = db_.prepare(
        "INSERT INTO apikey (id, name, key_sha256, role, created_at, created_by) VALUES (?,?,?,?,?,?)");
    const auto digest = core::tokenDigest(out.secret);
    s.bind(1, out.key.id).bind(2, name).bind(3, digestSpan(digest)).bind(4, role).bind(5, createdAt).bind(6, createdBy);
    s.step();
    return out;
}

namespace {
ApiKeyRecord loadKey(Statement& s) {
    ApiKeyRecord k;
    k.id = s.text(0);
    k.name = s.text(1);
    k.role = s.text(2);
    k.createdAt = s.text(3);
    k.createdBy = s.text(4);
    k.revokedAt = optText(s, 5);
    k.lastUsedAt = optText(s, 6);
    return k;
}
constexpr std::string_view kKeyColumns = "id, name, role, created_at, created_by, revoked_at, last_used_at";
}  // namespace

std::optional<ApiKeyRecord> ApiKeyStore::bySecret(std::string_view secret) {
    const auto digest = core::tokenDigest(secret);
    Statement s = db_.prepare("SELECT " + std::string(kKeyColumns) + ", key_sha256 FROM apikey WHERE key_sha256 = ?");
    s.bind(1, digestSpan(digest));
    if (!s.step()) return std::nullopt;
    if (!core::constantTimeEqual(s.blob(7), digestSpan(digest))) return std::nullopt;  // see LinkStore::byToken
    return loadKey(s);
}

std::vector<ApiKeyRecord> ApiKeyStore::list() {
    std::vector<ApiKeyRecord> out;
    Statement s = db_.prepare("SELECT " + std::string(kKeyColumns) + " FROM apikey ORDER BY created_at, id");
    while (s.step()) out.push_back(loadKey(s));
    return out;
}

bool ApiKeyStore::revoke(const std::string& id, const std::string& at) {
    Statement s = db_.prepare("UPDATE apikey SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
    s.bind(1, at).bind(2, id);
    s.step();
    return sqlite3_changes(db_.handle()) == 1;
}

void ApiKeyStore::markUsed(const std::string& id, const std::string& at) {
    Statement s = db_.prepare("UPDATE apikey SET last_used_at = ? WHERE id = ?");
    s.bind(1, at).bind(2, id);
    s.step();
}

std::string DeferredQueue::add(const std::string& apiKeyId, const std::string& receivedAt,
                               const std::string& requestJson) {
    const std::string id = core::randomId("req_");
    Statement s = db_.prepare(
        "INSERT INTO deferred_request (id, apikey_id, received_at, request, status, detail) "
        "VALUES (?,?,?,?,'pending','')");
    s.bind(1, id).bind(2, apiKeyId).bind(3, receivedAt).bind(4, requestJson);
    s.step();
    return id;
}

namespace {
DeferredRequest loadDeferred(Statement& s) {
    DeferredRequest d;
    d.id = s.text(0);
    d.apiKeyId = s.text(1);
    d.receivedAt = s.text(2);
    d.request = s.text(3);
    d.status = s.text(4);
    d.linkId = optText(s, 5);
    d.detail = s.text(6);
    return d;
}
constexpr std::string_view kDeferredColumns = "id, apikey_id, received_at, request, status, link_id, detail";
}  // namespace

std::optional<DeferredRequest> DeferredQueue::get(const std::string& id) {
    Statement s = db_.prepare("SELECT " + std::string(kDeferredColumns) + " FROM deferred_request WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return loadDeferred(s);
}

std::vector<DeferredRequest> DeferredQueue::pending() {
    std::vector<DeferredRequest> out;
    Statement s = db_.prepare("SELECT " + std::string(kDeferredColumns) +
                              " FROM deferred_request WHERE status = 'pending' ORDER BY received_at, id");
    while (s.step()) out.push_back(loadDeferred(s));
    return out;
}

}  // namespace sealport::state
