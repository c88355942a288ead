#include "sealport/ingest/pipeline.hpp"

#include <future>
#include <optional>

#include "sealport/core/log.hpp"
#include "sealport/ingest/instance.hpp"

namespace sealport::ingest {

std::string_view toString(StoreStatus s) noexcept {
    switch (s) {
        case StoreStatus::stored: return "stored";
        case StoreStatus::duplicate: return "duplicate";
        case StoreStatus::conflict: return "conflict";
        case StoreStatus::rejected: return "rejected";
        case StoreStatus::out_of_resources: return "out_of_resources";
        case StoreStatus::failed: return "failed";
    }
    return "failed";
}

std::uint16_t cstoreStatus(StoreStatus s) noexcept {
    switch (s) {
        case StoreStatus::stored:
        case StoreStatus::duplicate: return 0x0000;            // Success
        case StoreStatus::conflict: return 0xC011;             // Cannot understand: UID already holds other bytes
        case StoreStatus::rejected: return 0xC000;             // Cannot understand
        case StoreStatus::out_of_resources: return 0xA700;     // Refused: out of resources
        case StoreStatus::failed: return 0xA701;               // Refused: out of resources (unable to store)
    }
    return 0xA701;
}

IngestPipeline::IngestPipeline(state::Connection& connection, state::BlobStore& blobs,
                               const core::Clock& clock, std::size_t maxObjectBytes)
    : conn_(connection), blobs_(blobs), clock_(clock), maxObjectBytes_(maxObjectBytes) {}

namespace {

// A blob commit running on another thread. Whoever does not take its result
// (the object was rejected, or was a duplicate after all) removes the blob.
class PendingCommit {
public:
    PendingCommit(state::BlobStore& blobs, state::BlobWriter& writer, const core::Sha256Digest& digest)
        : blobs_(blobs), result_(std::async(std::launch::async, [&writer, digest] { return writer.commit(digest); })) {}
    ~PendingCommit() { discard(); }
    PendingCommit(const PendingCommit&) = delete;
    PendingCommit& operator=(const PendingCommit&) = delete;

    state::BlobResult<state::StoredBlob> take() { return result_.get(); }
    void discard() noexcept {
        if (!result_.valid()) return;
        try {
            const auto r = result_.get();
            if (const auto* b = std::get_if<state::StoredBlob>(&r)) blobs_.remove(b->id);
        } catch (...) {
        }
    }

private:
    state::BlobStore& blobs_;
    std::future<state::BlobResult<state::StoredBlob>> result_;
};

}  // namespace

StoreResult IngestPipeline::store(std::span<const std::uint8_t> part10, const std::string& source,
                                  const state::Actor& actor) {
    return run(part10, nullptr, nullptr, {}, source, actor);
}

StoreResult IngestPipeline::storeReceived(std::span<const std::uint8_t> part10, const core::Sha256Digest& digest,
                                          state::BlobWriter& blob, const std::string& announcedSopInstanceUid,
                                          const std::string& source, const state::Actor& actor) {
    StoreResult r = run(part10, &digest, &blob, announcedSopInstanceUid, source, actor);
    blob.abort();  // a no-op once committed
    return r;
}

StoreResult IngestPipeline::refuse(RejectReason reason, const std::string& detail, const std::string& source,
                                   const state::Actor& actor) {
    StoreResult r;
    r.status = StoreStatus::rejected;
    r.detail = std::string(toString(reason)) + ": " + detail;
    audit(actor, r, source);
    return r;
}

StoreResult IngestPipeline::run(std::span<const std::uint8_t> part10, const core::Sha256Digest* digest,
                                state::BlobWriter* writer, const std::string& announcedUid, const std::string& source,
                                const state::Actor& actor) {
    StoreResult r;
    // An object that arrived hashed and encrypted, announced under a SOP
    // Instance UID the catalogue does not know (the usual case), has its blob
    // made durable — fsync, rename, fsync of the directory: disk waits — while
    // this thread parses it and takes its data set's digest. The blob is
    // removed again if the object turns out to be rejected or a duplicate.
    std::optional<PendingCommit> committing;
    if (writer != nullptr && digest != nullptr && !announcedUid.empty()) {
        bool known = true;
        try {
            known = conn_.catalogue.datasetDigestOf(announcedUid).has_value();
        } catch (const std::exception&) {
            // Decided below, on the path that reports catalogue failures.
        }
        if (!known) committing.emplace(blobs_, *writer, *digest);
    }

    auto parsed = parseInstance(part10, maxObjectBytes_, digest);
    if (const auto* rej = std::get_if<Rejection>(&parsed)) return refuse(rej->reason, rej->detail, source, actor);
    const InstanceFields& f = std::get<InstanceFields>(parsed);
    r.sopInstanceUid = f.sopInstanceUid;
    r.studyUid = f.studyUid;

    // A re-sent object is answered from the catalogue, before any blob is made
    // durable. add() below decides again, in its transaction, for the race
    // with another association storing the same instance now.
    try {
        if (const auto existing = conn_.catalogue.datasetDigestOf(f.sopInstanceUid)) {
            if (*existing == f.datasetSha256) {
                r.status = StoreStatus::duplicate;
                r.detail = "already stored with the same content";
                return r;
            }
            r.status = StoreStatus::conflict;
            r.detail = "a UID of this object (instance or series) already names other content; nothing overwritten";
            audit(actor, r, source);
            return r;
        }
    } catch (const std::exception& err) {
        r.status = StoreStatus::failed;
        r.detail = std::string("catalogue: ") + err.what();
        audit(actor, r, source);
        return r;
    }

    auto put = committing ? committing->take() : writer != nullptr ? writer->commit(f.sha256) : blobs_.put(part10, f.sha256);
    if (const auto* fail = std::get_if<state::BlobFailure>(&put)) {
        r.status = fail->kind == state::BlobFailure::Kind::no_space ? StoreStatus::out_of_resources
                                                                    : StoreStatus::failed;
        r.detail = fail->detail;
        audit(actor, r, source);
        return r;
    }
    const state::StoredBlob& blob = std::get<state::StoredBlob>(put);

    state::CatalogueEntry e;
    static_cast<state::InstanceMetadata&>(e) = f;
    e.size = part10.size();
    e.sha256 = blob.sha256;
    e.datasetSha256 = f.datasetSha256;
    e.blobId = blob.id;
    e.source = source;
    e.receivedAt = core::formatUtc(clock_.now());

    try {
        switch (conn_.catalogue.add(e)) {
            case state::AddOutcome::added:
                r.status = StoreStatus::stored;
                return r;
            case state::AddOutcome::duplicate:
                blobs_.remove(blob.id);
                r.status = StoreStatus::duplicate;
                r.detail = "already stored with the same content";
                return r;
            case state::AddOutcome::conflict:
                blobs_.remove(blob.id);
                r.status = StoreStatus::conflict;
                r.detail = "a UID of this object (instance or series) already names other content; nothing overwritten";
                audit(actor, r, source);
                return r;
        }
    } catch (const state::DbError& err) {
        blobs_.remove(blob.id);
        r.status = err.code() == SQLITE_FULL ? StoreStatus::out_of_resources : StoreStatus::failed;
        r.detail = std::string("catalogue: ") + err.what();
    } catch (const std::exception& err) {
        blobs_.remove(blob.id);
        r.status = StoreStatus::failed;
        r.detail = std::string("catalogue: ") + err.what();
    }
    audit(actor, r, source);
    return r;
}

void IngestPipeline::audit(const state::Actor& actor, const StoreResult& r, const std::string& source) {
    try {
        conn_.audit.append(actor, "ingest.store", r.sopInstanceUid.empty() ? "-" : r.sopInstanceUid,
                           r.status == StoreStatus::rejected || r.status == StoreStatus::conflict
                               ? state::Outcome::refused
                               : state::Outcome::failure,
                           {{"status", toString(r.status)},
                            {"detail", r.detail},
                            {"source", source},
                            {"study_uid", r.studyUid},
                            {"dimse_status", cstoreStatus(r.status)}});
    } catch (const std::exception& e) {
        // The disk may be the reason we are here; the journal still hears of it.
        core::log::error("ingest: could not audit a " + std::string(toString(r.status)) + " store: " + e.what());
    }
}

}  // namespace sealport::ingest
