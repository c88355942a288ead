#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sealport/core/clock.hpp"
#include "sealport/core/crypto.hpp"
#include "sealport/state/database.hpp"

namespace sealport::state {

// Who acted. The daemon itself acts as role "daemon"; an unmapped caller as "none".
struct Actor {
    std::optional<std::uint32_t> uid;
    std::optional<std::int32_t> pid;
    std::string role;

    static Actor daemon();
    bool operator==(const Actor&) const = default;
};

enum class Outcome { success, refused, failure };
std::string_view toString(Outcome o) noexcept;
std::optional<Outcome> parseOutcome(std::string_view s) noexcept;

struct AuditRecord {
    std::int64_t seq = 0;
    std::string time;  // UTC, formatUtc
    Actor actor;
    std::string action;
    std::string subject;
    Outcome outcome = Outcome::failure;
    std::string details;  // compact JSON with sorted keys; hashed as stored
    core::Sha256Digest prevHash{};
    core::Sha256Digest hash{};

    [[nodiscard]] nlohmann::json toJson() const;
};

// The bytes the hash covers: a domain tag, then every field length-prefixed
// (u32 big-endian) in a fixed order, integers in decimal, absent ones empty.
core::Bytes canonicalEncoding(const AuditRecord& r);
core::Sha256Digest entryHash(const AuditRecord& r);
// What a checkpoint signature covers.
core::Bytes checkpointMessage(std::int64_t seq, const core::Sha256Digest& hash,
                              const std::string& time);

struct AuditVerification {
    bool ok = true;
    std::int64_t entries = 0;
    std::optional<std::int64_t> firstBad;
    std::string reason;  // empty when ok
    std::int64_t checkpoints = 0;

    [[nodiscard]] nlohmann::json toJson() const;
};

class AuditEvent;

// The append-only, hash-chained, checkpoint-signed audit log.
class AuditLog {
public:
    AuditLog(Database& db, const core::Clock& clock, const core::Ed25519Signer& signer,
             unsigned checkpointEvery);

    // Appends one entry (inside the caller's transaction if there is one) and
    // signs a checkpoint every `checkpointEvery` entries. Mirrored to the journal.
    AuditRecord append(const Actor& actor, std::string action, std::string subject,
                       Outcome outcome, const nlohmann::json& details);

    // Like append(), but once the current transaction (if any) has ended,
    // whether it committed or rolled back.
    void appendAfterTransaction(const Actor& actor, std::string action, std::string subject,
                                Outcome outcome, const nlohmann::json& details);

    // An event that records a failure unless completed.
    [[nodiscard]] AuditEvent begin(Actor actor, std::string action, std::string subject);

    // Signs the current head (no-op when the head is already checkpointed).
    void checkpoint();

    [[nodiscard]] AuditVerification verify();
    [[nodiscard]] std::vector<AuditRecord> tail(std::size_t n);
    [[nodiscard]] std::int64_t entries();

private:
    void writeCheckpoint(std::int64_t seq, const core::Sha256Digest& hash);

    Database& db_;
    const core::Clock& clock_;
    const core::Ed25519Signer& signer_;
    unsigned checkpointEvery_;
};

// Fail-closed audit: completes with succeed()/refuse()/fail(); destroyed
// without completion it records outcome "failure" with the reason
// "not completed" (an exception or early return skipped the end).
class AuditEvent {
public:
    AuditEvent(AuditLog& log, Actor actor, std::string action, std::string subject);
    ~AuditEvent();
    AuditEvent(AuditEvent&& other) noexcept;
    AuditEvent(const AuditEvent&) = delete;
    AuditEvent& operator=(const AuditEvent&) = delete;
    AuditEvent& operator=(AuditEvent&&) = delete;

    AuditEvent& detail(const std::string& key, nlohmann::json value);
    AuditRecord succeed();
    AuditRecord refuse(const std::string& reason);
    AuditRecord fail(const std::string& reason);

private:
    AuditRecord complete(Outcome outcome, const std::string& reason);

    AuditLog* log_;
    Actor actor_;
    std::string action_;
    std::string subject_;
    nlohmann::json details_ = nlohmann::json::object();
    bool done_ = false;
};

}  // namespace sealport::state
