#include "sealport/state/audit.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "sealport/core/log.hpp"

namespace sealport::state {
namespace {

constexpr std::string_view kEntryTag = "sealport-audit-entry-v1";
constexpr std::string_view kCheckpointTag = "sealport-audit-checkpoint-v1";
// journalctl MESSAGE_ID=... finds every mirrored audit entry.
constexpr std::string_view kAuditMessageId = "4f1b6a3c9e0d4b6f8a2e7c5d1b3a9f60";

void putField(core::Bytes& out, std::span<const std::uint8_t> field) {
    const auto n = static_cast<std::uint32_t>(field.size());
    out.push_back(static_cast<std::uint8_t>(n >> 24));
    out.push_back(static_cast<std::uint8_t>(n >> 16));
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n));
    out.insert(out.end(), field.begin(), field.end());
}

void putField(core::Bytes& out, std::string_view s) { putField(out, core::asBytes(s)); }

std::string optionalNumber(const auto& v) { return v ? std::to_string(*v) : std::string(); }

core::Sha256Digest toDigest(const std::vector<std::uint8_t>& b) {
    core::Sha256Digest d{};
    if (b.size() == d.size()) std::copy(b.begin(), b.end(), d.begin());
    return d;
}

AuditRecord readRecord(const Statement& s) {
    AuditRecord r;
    r.seq = s.integer(0);
    r.time = s.text(1);
    if (!s.isNull(2)) r.actor.uid = static_cast<std::uint32_t>(s.integer(2));
    if (!s.isNull(3)) r.actor.pid = static_cast<std::int32_t>(s.integer(3));
    r.actor.role = s.text(4);
    r.action = s.text(5);
    r.subject = s.text(6);
    // An unknown outcome string cannot match its hash anyway; keep it visible as failure.
    r.outcome = parseOutcome(s.text(7)).value_or(Outcome::failure);
    r.details = s.text(8);
    r.prevHash = toDigest(s.blob(9));
    r.hash = toDigest(s.blob(10));
    return r;
}

constexpr std::string_view kSelectColumns =
    "SELECT seq, time, actor_uid, actor_pid, actor_role, action, subject, outcome, details, "
    "prev_hash, hash FROM audit ";

// The journal gets the facts, not the details (they may name patients or studies).
void mirrorToJournal(const AuditRecord& r) {
    using core::log::Priority;
    const Priority p = r.outcome == Outcome::success   ? Priority::info
                       : r.outcome == Outcome::refused ? Priority::notice
                                                       : Priority::warning;
    core::log::journal(p, kAuditMessageId,
                       "audit #" + std::to_string(r.seq) + " " + r.action + " " +
                           std::string(toString(r.outcome)),
                       {{"SEALPORT_AUDIT_SEQ", std::to_string(r.seq)},
                        {"SEALPORT_AUDIT_ACTION", r.action},
                        {"SEALPORT_AUDIT_OUTCOME", std::string(toString(r.outcome))},
                        {"SEALPORT_AUDIT_ROLE", r.actor.role},
                        {"SEALPORT_AUDIT_UID", optionalNumber(r.actor.uid)},
                        {"SEALPORT_AUDIT_PID", optionalNumber(r.actor.pid)},
                        {"SEALPORT_AUDIT_HASH", core::toHex(r.hash)}});
}

}  // namespace

Actor Actor::daemon() {
    return Actor{static_cast<std::uint32_t>(::getuid()), static_cast<std::int32_t>(::getpid()),
                 "daemon"};
}

std::string_view toString(Outcome o) noexcept {
    switch (o) {
        case Outcome::success: return "success";
        case Outcome::refused: return "refused";
        case Outcome::failure: return "failure";
    }
    return "failure";
}

std::optional<Outcome> parseOutcome(std::string_view s) noexcept {
    if (s == "success") return Outcome::success;
    if (s == "refused") return Outcome::refused;
    if (s == "failure") return Outcome::failure;
    return std::nullopt;
}

nlohmann::json AuditRecord::toJson() const {
    nlohmann::json j;
    j["seq"] = seq;
    j["time"] = time;
    j["actor"] = {{"uid", actor.uid ? nlohmann::json(*actor.uid) : nlohmann::json()},
                  {"pid", actor.pid ? nlohmann::json(*actor.pid) : nlohmann::json()},
                  {"role", actor.role}};
    j["action"] = action;
    j["subject"] = subject;
    j["outcome"] = toString(outcome);
    j["details"] = nlohmann::json::parse(details, nullptr, false);
    if (j["details"].is_discarded()) j["details"] = details;
    j["prev_hash"] = core::toHex(prevHash);
    j["hash"] = core::toHex(hash);
    return j;
}

core::Bytes canonicalEncoding(const AuditRecord& r) {
    core::Bytes out;
    out.reserve(256 + r.details.size());
    putField(out, kEntryTag);
    putField(out, std::to_string(r.seq));
    putField(out, r.time);
    putField(out, optionalNumber(r.actor.uid));
    putField(out, optionalNumber(r.actor.pid));
    putField(out, r.actor.role);
    putField(out, r.action);
    putField(out, r.subject);
    putField(out, toString(r.outcome));
    putField(out, r.details);
    putField(out, r.prevHash);
    return out;
}

core::Sha256Digest entryHash(const AuditRecord& r) { return core::sha256(canonicalEncoding(r)); }

core::Bytes checkpointMessage(std::int64_t seq, const core::Sha256Digest& hash,
                              const std::string& time) {
    core::Bytes out;
    putField(out, kCheckpointTag);
    putField(out, std::to_string(seq));
    putField(out, hash);
    putField(out, time);
    return out;
}

nlohmann::json AuditVerification::toJson() const {
    nlohmann::json j;
    j["ok"] = ok;
    j["entries"] = entries;
    j["first_bad"] = firstBad ? nlohmann::json(*firstBad) : nlohmann::json();
    j["checkpoints"] = checkpoints;
    if (!reason.empty()) j["reason"] = reason;
    return j;
}

AuditLog::AuditLog(Database& db, const core::Clock& clock, const core::Ed25519Signer& signer,
                   unsigned checkpointEvery)
    : db_(db), clock_(clock), signer_(signer), checkpointEvery_(std::max(1U, checkpointEvery)) {
    // The interval is fixed when the log is created: verify() requires a
    // checkpoint at every multiple of it, so that deleting the checkpoints of a
    // rewritten chain does not make it verify. A later config value is ignored.
    Statement get = db_.prepare("SELECT value FROM meta WHERE key = 'audit_checkpoint_every'");
    if (get.step()) {
        const std::string v = get.text(0);
        unsigned stored = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), stored);
        if (ec == std::errc{} && p == v.data() + v.size() && stored > 0) checkpointEvery_ = stored;
    } else {
        Statement put = db_.prepare("INSERT INTO meta (key, value) VALUES ('audit_checkpoint_every', ?)");
        put.bind(1, std::to_string(checkpointEvery_));
        put.step();
    }
}

AuditRecord AuditLog::append(const Actor& actor, std::string action, std::string subject,
                             Outcome outcome, const nlohmann::json& details) {
    AuditRecord r;
    r.time = core::formatUtc(clock_.now());
    r.actor = actor;
    r.action = std::move(action);
    r.subject = std::move(subject);
    r.outcome = outcome;
    r.details = details.is_null() ? "{}"
                                  : details.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);

    Database::Transaction tx(db_);
    {
        Statement head = db_.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
        if (head.step()) {
            r.seq = head.integer(0) + 1;
            r.prevHash = toDigest(head.blob(1));
        } else {
            r.seq = 1;
        }
    }
    r.hash = entryHash(r);
    Statement ins = db_.prepare(
        "INSERT INTO audit (seq, time, actor_uid, actor_pid, actor_role, action, subject, "
        "outcome, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    ins.bind(1, r.seq).bind(2, r.time);
    if (r.actor.uid) ins.bind(3, static_cast<std::int64_t>(*r.actor.uid)); else ins.bindNull(3);
    if (r.actor.pid) ins.bind(4, static_cast<std::int64_t>(*r.actor.pid)); else ins.bindNull(4);
    ins.bind(5, r.actor.role).bind(6, r.action).bind(7, r.subject).bind(8, toString(r.outcome));
    ins.bind(9, r.details).bind(10, r.prevHash).bind(11, r.hash);
    ins.step();
    if (r.seq % checkpointEvery_ == 0) writeCheckpoint(r.seq, r.hash);
    // Mirrored once the entry is durable, never ahead of the database.
    db_.afterCommit([r] { mirrorToJournal(r); });
    tx.commit();
    return r;
}

void AuditLog::appendAfterTransaction(const Actor& actor, std::string action, std::string subject,
                                      Outcome outcome, const nlohmann::json& details) {
    db_.afterTransaction([this, actor, action = std::move(action), subject = std::move(subject), outcome,
                          details] {
        try {
            append(actor, action, subject, outcome, details);
        } catch (const std::exception& e) {
            core::log::error(std::string("could not record an incomplete audit event: ") + e.what());
        }
    });
}

AuditEvent AuditLog::begin(Actor actor, std::string action, std::string subject) {
    return AuditEvent(*this, std::move(actor), std::move(action), std::move(subject));
}

void AuditLog::writeCheckpoint(std::int64_t seq, const core::Sha256Digest& hash) {
    const std::string time = core::formatUtc(clock_.now());
    const core::Bytes sig = signer_.sign(checkpointMessage(seq, hash, time));
    Statement s = db_.prepare(
        "INSERT OR REPLACE INTO audit_checkpoint (seq, time, hash, key_fingerprint, signature) "
        "VALUES (?,?,?,?,?)");
    s.bind(1, seq).bind(2, time).bind(3, hash).bind(4, signer_.fingerprint()).bind(5, sig);
    s.step();
}

void AuditLog::checkpoint() {
    Database::Transaction tx(db_);
    Statement head = db_.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (!head.step()) return;
    const std::int64_t seq = head.integer(0);
    const auto hash = toDigest(head.blob(1));
    Statement existing = db_.prepare("SELECT 1 FROM audit_checkpoint WHERE seq = ?");
    existing.bind(1, seq);
    if (existing.step()) return;
    writeCheckpoint(seq, hash);
    tx.commit();
}

AuditVerification AuditLog::verify() {
    AuditVerification v;
    auto flag = [&v](std::int64_t seq, std::string reason) {
        if (!v.firstBad || seq < *v.firstBad) {
            v.firstBad = seq;
            v.reason = std::move(reason);
        }
        v.ok = false;
    };

    // One read transaction: a consistent snapshot.
    Database::Transaction tx(db_);
    std::vector<std::pair<std::int64_t, core::Sha256Digest>> hashes;
    {
        Statement s = db_.prepare(std::string(kSelectColumns) + "ORDER BY seq");
        core::Sha256Digest prev{};
        std::int64_t expected = 1;
        while (s.step()) {
            AuditRecord r = readRecord(s);
            const std::string storedOutcome = s.text(7);
            ++v.entries;
            if (r.seq != expected) {
                flag(expected, "entry " + std::to_string(expected) + " is missing");
                expected = r.seq;
            }
            const bool outcomeKnown = parseOutcome(storedOutcome).has_value();
            if (!outcomeKnown || entryHash(r) != r.hash) {
                flag(r.seq, "entry " + std::to_string(r.seq) + " does not match its hash");
            } else if (r.prevHash != prev) {
                flag(r.seq, "entry " + std::to_string(r.seq) +
                                " does not link to the entry before it");
            }
            hashes.emplace_back(r.seq, r.hash);
            prev = r.hash;
            ++expected;
        }
    }
    std::vector<std::int64_t> checkpointed;
    {
        Statement s = db_.prepare(
            "SELECT seq, time, hash, key_fingerprint, signature FROM audit_checkpoint ORDER BY seq");
        while (s.step()) {
            ++v.checkpoints;
            const std::int64_t seq = s.integer(0);
            const auto hash = toDigest(s.blob(2));
            const std::string fingerprint = s.text(3);
            const auto sig = s.blob(4);
            const std::string label = "checkpoint at entry " + std::to_string(seq);
            if (fingerprint != signer_.fingerprint()) {
                flag(seq, label + " is signed by an unknown key");
                continue;
            }
            if (!core::ed25519Verify(signer_.publicKey(), checkpointMessage(seq, hash, s.text(1)),
                                     sig)) {
                flag(seq, label + " has an invalid signature");
                continue;
            }
            checkpointed.push_back(seq);
            auto it = std::lower_bound(hashes.begin(), hashes.end(), seq,
                                       [](const auto& e, std::int64_t k) { return e.first < k; });
            if (it == hashes.end() || it->first != seq) {
                flag(seq, label + " covers an entry that is gone");
            } else if (it->second != hash) {
                flag(seq, label + " does not match entry " + std::to_string(seq));
            }
        }
    }
    // Every multiple of the interval up to the last entry must carry a checkpoint.
    const std::int64_t last = hashes.empty() ? 0 : hashes.back().first;
    const auto every = static_cast<std::int64_t>(checkpointEvery_);
    for (std::int64_t seq = every; seq <= last; seq += every) {
        if (!std::binary_search(checkpointed.begin(), checkpointed.end(), seq)) {
            flag(seq, "the signed checkpoint at entry " + std::to_string(seq) + " is missing");
            break;
        }
    }
    tx.commit();
    return v;
}

std::vector<AuditRecord> AuditLog::tail(std::size_t n) {
    Statement s = db_.prepare(std::string(kSelectColumns) + "ORDER BY seq DESC LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(n));
    std::vector<AuditRecord> out;
    while (s.step()) out.push_back(readRecord(s));
    std::reverse(out.begin(), out.end());
    return out;
}

std::int64_t AuditLog::entries() {
    Statement s = db_.prepare("SELECT count(*) FROM audit");
    s.step();
    return s.integer(0);
}

AuditEvent::AuditEvent(AuditLog& log, Actor actor, std::string action, std::string subject)
    : log_(&log), actor_(std::move(actor)), action_(std::move(action)), subject_(std::move(subject)) {}

AuditEvent::AuditEvent(AuditEvent&& other) noexcept
    : log_(other.log_)
    , actor_(std::move(other.actor_))
    , action_(std::move(other.action_))
    , subject_(std::move(other.subject_))
    , details_(std::move(other.details_))
    , done_(std::exchange(other.done_, true)) {}

AuditEvent::~AuditEvent() {
    if (done_) return;
    try {
        done_ = true;
        details_["reason"] = "not completed";
        // Inside a transaction that is being unwound the entry would be rolled
        // back with it: record the failure once the transaction has ended.
        log_->appendAfterTransaction(actor_, action_, subject_, Outcome::failure, details_);
    } catch (const std::exception& e) {
        core::log::error(std::string("could not record an incomplete audit event: ") + e.what());
    } catch (...) {
        core::log::error("could not record an incomplete audit event");
    }
}

AuditEvent& AuditEvent::detail(const std::string& key, nlohmann::json value) {
    details_[key] = std::move(value);
    return *this;
}

AuditRecord AuditEvent::succeed() { return complete(Outcome::success, {}); }
AuditRecord AuditEvent::refuse(const std::string& reason) { return complete(Outcome::refused, reason); }
AuditRecord AuditEvent::fail(const std::string& reason) { return complete(Outcome::failure, reason); }

AuditRecord AuditEvent::complete(Outcome outcome, const std::string& reason) {
    done_ = true;
    if (!reason.empty()) details_["reason"] = reason;
    return log_->append(actor_, action_, subject_, outcome, details_);
}

}  // namespace sealport::state
