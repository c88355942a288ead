#include "sealport/ingest/dicom_service.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <atomic>
#include <vector>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcostrma.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dcmtrans.h>
#include <dcmtk/dcmnet/dulstruc.h>
#include <dcmtk/dcmnet/scpthrd.h>
#include <dcmtk/oflog/oflog.h>
#pragma GCC diagnostic pop

#include "sealport/core/log.hpp"
#include "sealport/ingest/pipeline.hpp"
#include "sealport/policy/decision.hpp"

namespace sealport::ingest {
namespace {

constexpr int kRequestReadTimeoutSeconds = 5;
// The receive buffer is kept between objects of an association up to this size.
constexpr std::size_t kKeptReceiveBuffer = 64U * 1024U * 1024U;

// Transfer syntaxes accepted for storage. Objects are stored as the modality
// sends them, so within a presentation context the SCU's own order decides
// (an SCU proposes its object's syntax first) — among the lossless and
// uncompressed syntaxes. A lossy syntax is accepted only when the context offers
// nothing else: accepting it when the SCU also offered a lossless one could make
// the SCU compress an original image lossily before sending it.
const char* const kLosslessTransferSyntaxes[] = {
    UID_LittleEndianExplicitTransferSyntax,
    UID_LittleEndianImplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax,
    UID_DeflatedExplicitVRLittleEndianTransferSyntax,
    UID_JPEGProcess14SV1TransferSyntax,
    UID_JPEGProcess14TransferSyntax,
    UID_JPEGLSLosslessTransferSyntax,
    UID_JPEG2000LosslessOnlyTransferSyntax,
    UID_RLELosslessTransferSyntax,
};
const char* const kLossyTransferSyntaxes[] = {
    UID_JPEGProcess1TransferSyntax,
    UID_JPEGProcess2_4TransferSyntax,
    UID_JPEGLSLossyTransferSyntax,
    UID_JPEG2000TransferSyntax,
    UID_MPEG2MainProfileAtMainLevelTransferSyntax,
    UID_MPEG4HighProfileLevel4_1TransferSyntax,
};

template <std::size_t N>
bool listed(const char* const (&list)[N], const char* uid) {
    return std::any_of(std::begin(list), std::end(list), [&](const char* u) { return std::strcmp(u, uid) == 0; });
}

std::string peerHost(const OFString& ip) { return std::string(ip.c_str()); }

// One C-STORE data set as it arrives from the network: DCMTK hands each PDV
// fragment to write(), which keeps the object in memory (for the parse that
// follows), takes its SHA-256 and feeds the encrypted blob, whose chunks are
// on their way to the disk before the last fragment arrives.
// Nothing is decided here: failures are recorded and the rest of the data set
// is still read, so that the SCU gets a status instead of a dropped association.
class ReceivingObject final : public DcmConsumer {
public:
    ReceivingObject(std::vector<std::uint8_t>& buffer, state::BlobWriter* blob, std::size_t maxBytes)
        : buffer_(buffer), blob_(blob), maxBytes_(maxBytes) {
        buffer_.clear();
    }

    OFBool good() const override { return OFTrue; }
    OFCondition status() const override { return EC_Normal; }
    OFBool isFlushed() const override { return OFTrue; }
    offile_off_t avail() const override { return std::numeric_limits<std::int32_t>::max(); }
    void flush() override {}

    offile_off_t write(const void* buf, offile_off_t len) override {
        if (len <= 0) return 0;
        const auto n = static_cast<std::size_t>(len);
        received_ += n;
        if (tooLarge_ || error_) return len;  // drained, not kept
        if (received_ > maxBytes_) {
            tooLarge_ = true;
            release();
            return len;
        }
        const std::span<const std::uint8_t> piece(static_cast<const std::uint8_t*>(buf), n);
        try {
            buffer_.insert(buffer_.end(), piece.begin(), piece.end());
            object_.update(piece);
        } catch (const std::exception& e) {
            error_ = std::string("receiving an object: ") + e.what();
            release();
            return len;
        }
        if (blob_ != nullptr) (void)blob_->write(piece);  // a failure stays in the writer until commit
        return len;
    }

    [[nodiscard]] bool tooLarge() const noexcept { return tooLarge_; }
    [[nodiscard]] std::uint64_t received() const noexcept { return received_; }
    [[nodiscard]] const std::optional<std::string>& error() const noexcept { return error_; }
    [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return buffer_; }
    core::Sha256Digest digest() { return object_.finish(); }

private:
    void release() {
        std::vector<std::uint8_t>().swap(buffer_);
        if (blob_ != nullptr) blob_->abort();
    }

    std::vector<std::uint8_t>& buffer_;
    state::BlobWriter* blob_;
    std::size_t maxBytes_;
    core::Sha256 object_;
    std::uint64_t received_ = 0;
    bool tooLarge_ = false;
    std::optional<std::string> error_;
};

class ConsumerStream final : public DcmOutputStream {
public:
    explicit ConsumerStream(DcmConsumer* consumer) : DcmOutputStream(consumer) {}
};

// The preamble and File Meta group of a received object: the elements DCMTK's
// storescp writes (SOP class and instance from the request, the context's
// transfer syntax, DCMTK's implementation UID and version name, the calling
// AE as source), so stored objects look like any DCMTK-received file.
OFCondition writeMetaHeader(DcmOutputStream& out, const T_DIMSE_C_StoreRQ& req, const OFString& transferSyntax,
                            const std::string& callingAe) {
    DcmMetaInfo meta;
    const Uint8 version[] = {0, 1};
    OFCondition c = meta.putAndInsertUint8Array(DCM_FileMetaInformationVersion, version, 2);
    if (c.good()) c = meta.putAndInsertString(DCM_MediaStorageSOPClassUID, req.AffectedSOPClassUID);
    if (c.good()) c = meta.putAndInsertString(DCM_MediaStorageSOPInstanceUID, req.AffectedSOPInstanceUID);
    if (c.good()) c = meta.putAndInsertOFStringArray(DCM_TransferSyntaxUID, transferSyntax);
    if (c.good()) c = meta.putAndInsertString(DCM_ImplementationClassUID, OFFIS_IMPLEMENTATION_CLASS_UID);
    if (c.good()) c = meta.putAndInsertString(DCM_ImplementationVersionName, OFFIS_DTK_IMPLEMENTATION_VERSION_NAME);
    if (c.good() && !callingAe.empty())
        c = meta.putAndInsertString(DCM_SourceApplicationEntityTitle, callingAe.c_str());
    if (c.good())
        c = meta.computeGroupLengthAndPadding(EGL_withGL, EPD_noChange, META_HEADER_DEFAULT_TRANSFERSYNTAX,
                                              EET_UndefinedLength);
    if (c.bad()) return c;
    meta.transferInit();
    c = meta.write(out, META_HEADER_DEFAULT_TRANSFERSYNTAX, EET_ExplicitLength, nullptr);
    meta.transferEnd();
    return c;
}

}  // namespace

struct DicomService::Impl {
    Impl(DicomSettings s, state::State& st, const core::ModeGate& g, const policy::Settings& p, const core::Clock& c)
        : settings(std::move(s)), state(st), gate(g), policy(p), clock(c) {}

    void acceptLoop();
    void runAssociation(T_ASC_Association* assoc, int socket);

    DicomSettings settings;
    state::State& state;
    const core::ModeGate& gate;
    const policy::Settings& policy;
    const core::Clock& clock;
    T_ASC_Network* net = nullptr;
    std::uint16_t boundPort = 0;
    std::atomic<bool> stopping{false};
    std::thread acceptor;
    struct Worker {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
    };
    std::mutex mutex;  // guards workers, liveSockets
    std::list<Worker> workers;
    std::set<int> liveSockets;
    std::atomic<unsigned> active{0};
    std::unique_ptr<state::Connection> acceptConnection;  // audits refusals made on the accept thread
};

namespace {

// One association: DCMTK's thread SCP with sealport's checks and storage.
class StoreScp final : public DcmThreadSCP {
public:
    StoreScp(DicomService::Impl& service, std::unique_ptr<state::Connection> conn)
        : service_(service), conn_(std::move(conn)),
          pipeline_(*conn_, service.state.blobs(), service.clock, service.settings.maxObjectBytes) {
        setAETitle(service.settings.aeTitle.c_str());
        setMaxReceivePDULength(ASC_MAXIMUMPDUSIZE);
        setACSETimeout(service.settings.acseTimeoutSeconds);
        setDIMSETimeout(service.settings.dimseTimeoutSeconds);
        setConnectionBlockingMode(DUL_NOBLOCK);
        setHostLookupEnabled(OFFalse);
        setProgressNotificationMode(OFFalse);
        // Presentation contexts are negotiated by negotiateAssociation() below:
        // DCMTK's configuration holds at most 128 abstract syntaxes, fewer than
        // the storage SOP classes it knows. Verification is configured so that
        // DcmSCP answers C-ECHO.
        OFList<OFString> echo;
        echo.push_back(UID_LittleEndianExplicitTransferSyntax);
        echo.push_back(UID_LittleEndianImplicitTransferSyntax);
        const OFCondition c = addPresentationContext(UID_VerificationSOPClass, echo);
        if (c.bad()) throw std::runtime_error(std::string("DICOM presentation context: ") + c.text());
    }

protected:
    // Every storage SOP class DCMTK knows (patient and non-patient objects) and
    // Verification; each context gets the transfer syntax chosen as described
    // at kLosslessTransferSyntaxes.
    OFCondition negotiateAssociation() override {
        T_ASC_Parameters* params = assoc_->params;
        const int n = ASC_countPresentationContexts(params);
        for (int i = 0; i < n; ++i) {
            T_ASC_PresentationContext pc;
            OFCondition c = ASC_getPresentationContext(params, i, &pc);
            if (c.bad()) return c;
            const bool echo = std::strcmp(pc.abstractSyntax, UID_VerificationSOPClass) == 0;
            // Patient objects only: the catalogue files every object under a study and a
            // series, which non-patient objects (hanging protocols, palettes...) lack.
            const bool storage = dcmIsaStorageSOPClassUID(pc.abstractSyntax, ESSC_Patient);
            if (!echo && !storage) {
                c = ASC_refusePresentationContext(params, pc.presentationContextID, ASC_P_ABSTRACTSYNTAXNOTSUPPORTED);
                if (c.bad()) return c;
                continue;
            }
            const char* chosen = nullptr;
            for (int t = 0; t < pc.transferSyntaxCount && chosen == nullptr; ++t) {
                const char* ts = pc.proposedTransferSyntaxes[t];
                const bool uncompressed = std::strcmp(ts, UID_LittleEndianExplicitTransferSyntax) == 0 ||
                                          std::strcmp(ts, UID_LittleEndianImplicitTransferSyntax) == 0;
                if (echo ? uncompressed : listed(kLosslessTransferSyntaxes, ts)) chosen = ts;
            }
            for (int t = 0; t < pc.transferSyntaxCount && chosen == nullptr && storage; ++t)
                if (listed(kLossyTransferSyntaxes, pc.proposedTransferSyntaxes[t])) chosen = pc.proposedTransferSyntaxes[t];
            c = chosen != nullptr
                    ? ASC_acceptPresentationContext(params, pc.presentationContextID, chosen)
                    : ASC_refusePresentationContext(params, pc.presentationContextID, ASC_P_TRANSFERSYNTAXESNOTSUPPORTED);
            if (c.bad()) return c;
        }
        if (ASC_countAcceptedPresentationContexts(params) == 0)
            auditAssociation(state::Outcome::refused, "no presentation context could be accepted", "presentation-context");
        return EC_Normal;
    }

    OFBool checkCalledAETitleAccepted(const OFString& calledAE) override {
        callingAe_ = getPeerAETitle().c_str();
        if (std::string(calledAE.c_str()) == service_.settings.aeTitle) return OFTrue;
        auditAssociation(state::Outcome::refused, "called AE title '" + std::string(calledAE.c_str()) +
                                                      "' is not this appliance's", "called-ae");
        return OFFalse;
    }

    OFBool checkCallingAETitleAccepted(const OFString& callingAE) override {
        callingAe_ = callingAE.c_str();
        const auto d = decision();
        if (d.allowed()) return OFTrue;
        auditAssociation(state::Outcome::refused, d.reasons.empty() ? d.rule : d.reasons.front(), d.rule);
        return OFFalse;
    }

    void notifyAssociationAcknowledge() override {
        accepted_ = true;
    }

    void notifyAssociationTermination() override {
        {
            std::lock_guard lock(service_.mutex);
            service_.liveSockets.erase(socket_);
        }
        if (accepted_)
            auditAssociation(stored_ + duplicates_ > 0 || failed_ == 0 ? state::Outcome::success
                                                                       : state::Outcome::failure,
                             "association ended", "ingest.calling-ae");
    }

    OFCondition handleIncomingCommand(T_DIMSE_Message* msg, const DcmPresentationContextInfo& presInfo) override {
        if (msg->CommandField != DIMSE_C_STORE_RQ) return DcmThreadSCP::handleIncomingCommand(msg, presInfo);
        T_DIMSE_C_StoreRQ& req = msg->msg.CStoreRQ;
        if (req.DataSetType == DIMSE_DATASET_NULL) return DIMSE_BADMESSAGE;
        auto begun = service_.state.blobs().begin();
        state::BlobWriter* blob = nullptr;
        if (auto* w = std::get_if<std::unique_ptr<state::BlobWriter>>(&begun)) blob = w->get();
        ReceivingObject object(buffer_, blob, service_.settings.maxObjectBytes);
        ConsumerStream stream(&object);
        OFCondition cond = writeMetaHeader(stream, req, presInfo.acceptedTransferSyntax, callingAe_);
        if (cond.bad()) return cond;
        T_ASC_PresentationContextID datasetContext = presInfo.presentationContextID;
        cond = DIMSE_receiveDataSetInFile(assoc_, getDIMSEBlockingMode(), static_cast<int>(getDIMSETimeout()),
                                          &datasetContext, &stream, nullptr, nullptr);
        if (cond.bad()) return cond;  // the association is unusable; DCMTK ends it
        if (datasetContext != presInfo.presentationContextID)
            return makeDcmnetCondition(DIMSEC_INVALIDPRESENTATIONCONTEXTID, OF_error,
                                       "DIMSE: the data set came on another presentation context than its command");
        // The mode may have changed since the association began.
        std::uint16_t status = 0;
        if (!decision().allowed()) {
            status = 0x0124;  // Refused: not authorized
            ++failed_;
        } else {
            StoreResult r;
            try {
                if (object.tooLarge())
                    r = pipeline_.refuse(RejectReason::too_large,
                                         "the object is " + std::to_string(object.received()) +
                                             " bytes, over the limit of " +
                                             std::to_string(service_.settings.maxObjectBytes),
                                         source(), actor());
                else if (object.error())
                    throw std::runtime_error(*object.error());
                else if (blob == nullptr)  // no blob could be started: the whole-object path says why
                    r = pipeline_.store(object.bytes(), source(), actor());
                else
                    r = pipeline_.storeReceived(object.bytes(), object.digest(), *blob, req.AffectedSOPInstanceUID,
                                                source(), actor());
            } catch (const std::exception& e) {
                r.status = StoreStatus::failed;
                r.detail = e.what();
                core::log::error(std::string("C-STORE: ") + e.what());
            }
            status = cstoreStatus(r.status);
            if (r.status == StoreStatus::stored) ++stored_;
            else if (r.status == StoreStatus::duplicate) ++duplicates_;
            else ++failed_;
        }
        // A large object's memory is not kept for the rest of the association.
        if (buffer_.capacity() > kKeptReceiveBuffer) std::vector<std::uint8_t>().swap(buffer_);
        return sendSTOREResponse(presInfo.presentationContextID, req, status);
    }

public:
    void setSocket(int s) { socket_ = s; }
    // DcmSCP keeps the association private; negotiateAssociation() needs its parameters.
    void setAssociation(T_ASC_Association* a) { assoc_ = a; }

private:
    policy::Decision decision() const {
        policy::Context ctx;
        ctx.now = service_.clock.now();
        ctx.callingAe = callingAe_;
        return policy::decide(service_.gate.current(), policy::Action::ingest, ctx, service_.policy);
    }

    std::string source() const { return "dicom:" + callingAe_ + "@" + peerHost(getPeerIP()); }

    state::Actor actor() const { return state::Actor{std::nullopt, std::nullopt, "ae:" + callingAe_}; }

    void auditAssociation(state::Outcome outcome, const std::string& reason, const std::string& rule) {
        try {
            conn_->audit.append(actor(), "dicom.association", callingAe_.empty() ? "-" : callingAe_, outcome,
                                {{"peer", peerHost(getPeerIP())},
                                 {"called_ae", std::string(getCalledAETitle().c_str())},
                                 {"mode", policy::toString(service_.gate.current())},
                                 {"rule", rule},
                                 {"reason", reason},
                                 {"stored", stored_},
                                 {"duplicates", duplicates_},
                                 {"failed", failed_}});
        } catch (const std::exception& e) {
            core::log::error(std::string("could not audit a DICOM association: ") + e.what());
        }
    }

    DicomService::Impl& service_;
    T_ASC_Association* assoc_ = nullptr;
    std::unique_ptr<state::Connection> conn_;
    IngestPipeline pipeline_;
    std::string callingAe_;
    bool accepted_ = false;
    int socket_ = -1;
    std::int64_t stored_ = 0, duplicates_ = 0, failed_ = 0;
    std::vector<std::uint8_t> buffer_;  // the object being received, reused across objects
};

// DCMTK keeps the association's socket to itself (getSocket() is protected);
// shutdown() on it is how stop() cuts an association that is waiting to read.
struct SocketOf : DcmTransportConnection {
    static int get(DcmTransportConnection* c) {
        auto member = &SocketOf::getSocket;  // a pointer to the protected base member
        return static_cast<int>((c->*member)());
    }
};

int associationSocket(T_ASC_Association* assoc) {
    auto* key = reinterpret_cast<PRIVATE_ASSOCIATIONKEY*>(assoc->DULassociation);
    return key != nullptr && key->connection != nullptr ? SocketOf::get(key->connection) : -1;
}

}  // namespace

void DicomService::Impl::runAssociation(T_ASC_Association* assoc, int socket) {
    try {
        StoreScp scp(*this, state.connect(clock));
        scp.setSocket(socket);
        scp.setAssociation(assoc);
        scp.run(assoc);  // negotiates, serves, then drops and destroys the association
    } catch (const std::exception& e) {
        core::log::error(std::string("DICOM association failed: ") + e.what());
        {
            std::lock_guard lock(mutex);
            liveSockets.erase(socket);
        }
        ASC_dropSCPAssociation(assoc);
        ASC_destroyAssociation(&assoc);
    }
    --active;
}

void DicomService::Impl::acceptLoop() {
    while (!stopping.load()) {
        T_ASC_Association* assoc = nullptr;
        OFCondition cond = ASC_receiveAssociation(net, &assoc, ASC_MAXIMUMPDUSIZE, nullptr, nullptr, OFFalse,
                                                  DUL_NOBLOCK, 1);
        if (cond.bad()) {
            // Even a timeout (no request) leaves an allocated association behind.
            if (assoc != nullptr) {
                if (cond != DUL_NOASSOCIATIONREQUEST) ASC_dropAssociation(assoc);
                ASC_destroyAssociation(&assoc);
            }
            continue;
        }
        if (stopping.load() || active.load() >= settings.maxAssociations) {
            T_ASC_RejectParameters rej = {ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                                          ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED};
            const std::string callingAe = assoc->params->DULparams.callingAPTitle;
            const std::string peer = assoc->params->DULparams.callingPresentationAddress;
            const std::string calledAe = assoc->params->DULparams.calledAPTitle;
            ASC_rejectAssociation(assoc, &rej);
            ASC_dropAssociation(assoc);
            ASC_destroyAssociation(&assoc);
            core::log::warning("DICOM: association refused, " + std::to_string(settings.maxAssociations) +
                               " already open");
            try {
                acceptConnection->audit.append(
                    state::Actor{std::nullopt, std::nullopt, "ae:" + callingAe}, "dicom.association",
                    callingAe.empty() ? "-" : callingAe, state::Outcome::refused,
                    {{"peer", peer}, {"called_ae", calledAe}, {"mode", policy::toString(gate.current())},
                     {"rule", "association-limit"},
                     {"reason", std::to_string(settings.maxAssociations) + " associations already open"}});
            } catch (const std::exception& e) {
                core::log::error(std::string("could not audit a refused association: ") + e.what());
            }
            continue;
        }
        const int socket = associationSocket(assoc);
        std::lock_guard lock(mutex);
        liveSockets.insert(socket);
        ++active;
        // Finished threads are reaped as new ones start.
        workers.remove_if([](Worker& w) {
            if (!w.done->load()) return false;
            w.thread.join();
            return true;
        });
        Worker& w = workers.emplace_back();
        w.thread = std::thread([this, assoc, socket, done = w.done] {
            runAssociation(assoc, socket);
            done->store(true);
        });
    }
}

DicomService::DicomService(DicomSettings settings, state::State& state, const core::ModeGate& gate,
                           const policy::Settings& policy, const core::Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(settings), state, gate, policy, clock)) {}

DicomService::~DicomService() { stop(); }

void DicomService::start(core::UniqueFd activated) {
    // Nagle's algorithm stalls every C-STORE response by 40 ms (platform.md).
    ::setenv("TCP_NODELAY", "1", 0);
    OFLog::configure(OFLogger::ERROR_LOG_LEVEL);
    // No reverse DNS: addresses are audited as they are, and a slow resolver
    // cannot stall the accept thread.
    dcmDisableGethostbyaddr.set(OFTrue);

    core::UniqueFd listening = std::move(activated);
    if (!listening) {
        const auto& ep = impl_->settings.listen;
        const bool v6 = ep.host.find(':') != std::string::npos;
        listening.reset(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!listening) throw std::runtime_error(std::string("DICOM socket: ") + std::strerror(errno));
        const int one = 1;
        ::setsockopt(listening.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        int rc = -1;
        if (v6) {
            sockaddr_in6 a{};
            a.sin6_family = AF_INET6;
            a.sin6_port = htons(ep.port);
            inet_pton(AF_INET6, ep.host.c_str(), &a.sin6_addr);
            rc = ::bind(listening.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
        } else {
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(ep.port);
            inet_pton(AF_INET, ep.host.c_str(), &a.sin_addr);
            rc = ::bind(listening.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
        }
        if (rc != 0 || ::listen(listening.get(), 64) != 0)
            throw std::runtime_error("cannot listen for DICOM on " + ep.toString() + ": " + std::strerror(errno));
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(listening.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    impl_->boundPort = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                         : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

    // DCMTK binds every address and has no option to choose one. It is given an
    // ephemeral port, and its listening socket is then replaced by ours, bound
    // to the configured address (or passed by systemd).
    // The association request is read on the accept thread: a peer that
    // connects and sends nothing holds it for this long (the associations'
    // own ACSE timeout, later, is acseTimeoutSeconds).
    OFCondition cond = ASC_initializeNetwork(NET_ACCEPTOR, 0, kRequestReadTimeoutSeconds, &impl_->net);
    if (cond.bad()) throw std::runtime_error(std::string("DICOM network: ") + cond.text());
    auto* key = reinterpret_cast<PRIVATE_NETWORKKEY*>(impl_->net->network);
    ::close(key->networkSpecific.TCP.listenSocket);
    key->networkSpecific.TCP.listenSocket = listening.release();
    key->networkSpecific.TCP.port = impl_->boundPort;
    impl_->acceptConnection = impl_->state.connect(impl_->clock);
    impl_->acceptor = std::thread([this] { impl_->acceptLoop(); });
}

void DicomService::stop() {
    if (!impl_ || impl_->net == nullptr) return;
    impl_->stopping = true;
    if (impl_->acceptor.joinable()) impl_->acceptor.join();
    std::list<Impl::Worker> workers;
    {
        std::lock_guard lock(impl_->mutex);
        // Cut open associations: their reads fail and DCMTK ends them.
        for (int s : impl_->liveSockets) ::shutdown(s, SHUT_RDWR);
        workers.swap(impl_->workers);
    }
    for (auto& w : workers)
        if (w.thread.joinable()) w.thread.join();
    ASC_dropNetwork(&impl_->net);
    impl_->net = nullptr;
}

std::uint16_t DicomService::port() const noexcept { return impl_->boundPort; }

}  // namespace sealport::ingest
