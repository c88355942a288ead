#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "sealport/core/clock.hpp"
#include "sealport/ingest/instance.hpp"
#include "sealport/state/blob_store.hpp"
#include "sealport/state/state.hpp"

namespace sealport::ingest {

enum class StoreStatus {
    stored,            // new instance: encrypted, durable, catalogued
    duplicate,         // the same object again: nothing changed, success
    conflict,          // same SOP Instance UID, different bytes: nothing changed
    rejected,          // not a storable DICOM object (malformed, missing UIDs, DICOMDIR...)
    out_of_resources,  // disk full: nothing partial left
    failed,            // any other failure: nothing partial left
};
std::string_view toString(StoreStatus s) noexcept;

// The C-STORE response status for each outcome (see docs/dicom-conformance.md).
std::uint16_t cstoreStatus(StoreStatus s) noexcept;

struct StoreResult {
    StoreStatus status = StoreStatus::failed;
    std::string detail;  // for the operator and the audit; no patient data
    std::string sopInstanceUid;
    std::string studyUid;
};

// Stores one DICOM Part 10 object: parse and extract the catalogue fields,
// encrypt it as a blob (durable before the catalogue names it), then commit
// the catalogue row. Success is reported only after that commit. One per
// thread: it uses that thread's own database connection.
class IngestPipeline {
public:
    IngestPipeline(state::Connection& connection, state::BlobStore& blobs, const core::Clock& clock,
                   std::size_t maxObjectBytes);

    StoreResult store(std::span<const std::uint8_t> part10, const std::string& source,
                      const state::Actor& actor);

    // The same for an object that was hashed and encrypted while it arrived:
    // `digest` is the SHA-256 of `part10`; `blob` holds exactly `part10`, not
    // yet committed, and is kept only if the object is stored as new. An object
    // announced (C-STORE request) under a SOP Instance UID already catalogued
    // is answered without making its blob durable at all.
    StoreResult storeReceived(std::span<const std::uint8_t> part10, const core::Sha256Digest& digest,
                              state::BlobWriter& blob, const std::string& announcedSopInstanceUid,
                              const std::string& source, const state::Actor& actor);

    // An object refused before it could be parsed (e.g. over the size limit
    // while it was arriving): the rejection is audited like any other.
    StoreResult refuse(RejectReason reason, const std::string& detail, const std::string& source,
                       const state::Actor& actor);

private:
    StoreResult run(std::span<const std::uint8_t> part10, const core::Sha256Digest* digest,
                    state::BlobWriter* blob, const std::string& announcedUid, const std::string& source,
                    const state::Actor& actor);
    void audit(const state::Actor& actor, const StoreResult& r, const std::string& source);

    state::Connection& conn_;
    state::BlobStore& blobs_;
    const core::Clock& clock_;
    std::size_t maxObjectBytes_;
};

}  // namespace sealport::ingest
