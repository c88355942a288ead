#include "sealport/ingest/instance.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcerror.h>
#include <dcmtk/dcmdata/dcistrma.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>

#include "part10_scan.hpp"
#include "text.hpp"

namespace sealport::ingest {
namespace {

// Values up to this size are copied into DCMTK's element objects while
// parsing; larger ones (pixel data, fragments) stay where they are in the
// caller's buffer and are read from it only if asked for, which this file
// never does.
constexpr Uint32 kMaxInMemoryValue = 4096;

// Raw bytes read from a text element: enough for kMaxTextBytes of output from
// any character set; longer values are cut (the object itself is not).
constexpr std::size_t kMaxRawTextBytes = 4 * kMaxTextBytes;

// A UID is at most 64 characters; this leaves room for any amount of padding
// a writer might plausibly add before the value is simply too long.
constexpr std::size_t kMaxRawUidBytes = 128;

Rejection reject(RejectReason reason, std::string detail) {
    return Rejection{reason, std::move(detail)};
}

// ---------------------------------------------------------------------------
// DCMTK input over the caller's buffer. Unlike DcmInputBufferStream, its
// factory lets DCMTK defer large values (DcmElement keeps a factory and an
// offset instead of a copy), the way it does for files, without a file.

class SpanProducer final : public DcmProducer {
public:
    SpanProducer(std::span<const std::uint8_t> data, std::size_t offset) noexcept
        : data_(data), pos_(std::min(offset, data.size())) {}

    OFBool good() const override { return status_.good(); }
    OFCondition status() const override { return status_; }
    OFBool eos() override { return pos_ >= data_.size(); }
    offile_off_t avail() override { return static_cast<offile_off_t>(data_.size() - pos_); }

    offile_off_t read(void* buf, offile_off_t buflen) override {
        if (buf == nullptr || buflen <= 0 || status_.bad()) return 0;
        const std::size_t n = std::min(static_cast<std::size_t>(buflen), data_.size() - pos_);
        std::memcpy(buf, data_.data() + pos_, n);
        pos_ += n;
        return static_cast<offile_off_t>(n);
    }

    offile_off_t skip(offile_off_t skiplen) override {
        if (skiplen <= 0 || status_.bad()) return 0;
        const std::size_t n = std::min(static_cast<std::size_t>(skiplen), data_.size() - pos_);
        pos_ += n;
        return static_cast<offile_off_t>(n);
    }

    void putback(offile_off_t num) override {
        if (num <= 0 || status_.bad()) return;
        if (static_cast<std::size_t>(num) > pos_) {
            status_ = EC_PutbackFailed;
            return;
        }
        pos_ -= static_cast<std::size_t>(num);
    }

private:
    std::span<const std::uint8_t> data_;
    std::size_t pos_;
    OFCondition status_ = EC_Normal;
};

// Constructed before DcmInputStream, which keeps a pointer to the producer.
struct SpanProducerHolder {
    SpanProducerHolder(std::span<const std::uint8_t> data, std::size_t offset) noexcept
        : producer(data, offset) {}
    SpanProducer producer;
};

class SpanInputStream final : private SpanProducerHolder, public DcmInputStream {
public:
    SpanInputStream(std::span<const std::uint8_t> data, std::size_t offset)
        : SpanProducerHolder(data, offset), DcmInputStream(&producer), data_(data), base_(offset) {}

    DcmInputStreamFactory* newFactory() const override;

private:
    std::span<const std::uint8_t> data_;
    std::size_t base_;
};

class SpanStreamFactory final : public DcmInputStreamFactory {
public:
    SpanStreamFactory(std::span<const std::uint8_t> data, std::size_t offset) noexcept
        : data_(data), offset_(offset) {}

    DcmInputStream* create() const override { return new SpanInputStream(data_, offset_); }
    DcmInputStreamFactory* clone() const override { return new SpanStreamFactory(*this); }
    // DCMTK knows two kinds; this one behaves like a file that is never deleted.
    DcmInputStreamFactoryType ident() const override { return DFT_DcmInputFileStreamFactory; }

private:
    std::span<const std::uint8_t> data_;
    std::size_t offset_;
};

DcmInputStreamFactory* SpanInputStream::newFactory() const {
    // Once the inflate filter is installed, positions no longer map to the buffer.
    if (currentProducer() != &producer) return nullptr;
    return new SpanStreamFactory(data_, base_ + static_cast<std::size_t>(tell()));
}

// ---------------------------------------------------------------------------
// Reading values out of the parsed dataset: raw bytes as stored, without
// DCMTK's input "corrections" (which would remove spaces inside UIDs, say),
// so that what is checked is what other readers of the object will see.

struct RawValue {
    enum class State { absent, notAString, present } state = State::absent;
    std::string bytes;         // at most the requested maximum
    std::uint32_t length = 0;  // the whole value's length
};

RawValue rawValue(DcmItem& item, const DcmTagKey& key, std::size_t maxBytes) {
    RawValue v;
    DcmElement* element = nullptr;
    if (item.findAndGetElement(key, element, OFFalse).bad() || element == nullptr) return v;
    if (!element->isLeaf() || (!element->isaString() && element->ident() != EVR_UN)) {
        v.state = RawValue::State::notAString;
        return v;
    }
    v.length = element->getLength();
    v.bytes.resize(std::min<std::size_t>(v.length, maxBytes));
    if (!v.bytes.empty() &&
        element->getPartialValue(v.bytes.data(), 0, static_cast<Uint32>(v.bytes.size())).bad()) {
        v.state = RawValue::State::notAString;
        v.bytes.clear();
        return v;
    }
    v.state = RawValue::State::present;
    return v;
}

std::string_view trimUidPadding(std::string_view v) {
    while (!v.empty() && (v.back() == '\0' || v.back() == ' ')) v.remove_suffix(1);
    return v;
}

struct UidAttribute {
    std::uint32_t tag;
    const char* name;  // "(0020,000D) Study Instance UID"
};

// The UID as encoded (taken from the walk, not from DCMTK, which would have
// quietly removed any spaces in it), or why it cannot be used.
std::variant<std::string, Rejection> requiredUid(const detail::DatasetScan& scan,
                                                 const UidAttribute& attr) {
    const auto it = scan.captured.find(attr.tag);
    if (it == scan.captured.end())
        return reject(RejectReason::missing_uid, std::string(attr.name) + " is missing");
    const detail::RawElement& raw = it->second;
    // UN: an intermediary that did not know the attribute may have re-encoded it so.
    if (raw.container || (!raw.vr.empty() && raw.vr != "UI" && raw.vr != "UN"))
        return reject(RejectReason::invalid_uid, std::string(attr.name) + " is not encoded as a UID");
    const std::string_view uid = trimUidPadding(raw.bytes);
    if (uid.empty()) return reject(RejectReason::missing_uid, std::string(attr.name) + " is empty");
    if (raw.length > kMaxRawUidBytes || !isValidUid(uid))
        return reject(RejectReason::invalid_uid, std::string(attr.name) + " is not a valid UID");
    return std::string(uid);
}

// The meta header's copy of a UID, or why it cannot be used.
std::variant<std::string, Rejection> requiredMetaUid(const std::optional<std::string>& value,
                                                     const char* name) {
    if (!value || value->empty())
        return reject(RejectReason::missing_uid, std::string(name) + " is missing");
    if (!isValidUid(*value))
        return reject(RejectReason::invalid_uid, std::string(name) + " is not a valid UID");
    return *value;
}

// IS (PS3.5 6.2): at most 12 characters, optional sign, digits, space padding.
std::optional<std::int64_t> parseIntegerString(std::string_view s) {
    while (!s.empty() && (s.front() == ' ')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
    if (s.empty() || s.size() > 12) return std::nullopt;
    bool negative = false;
    if (s.front() == '+' || s.front() == '-') {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return negative ? -value : value;
}

// Converts DCMTK's verdict on the dataset where it is given.
Rejection fromDcmtkReadCondition(const OFCondition& condition) {
    if (condition == EC_StreamNotifyClient)
        return reject(RejectReason::truncated, "the dataset ends before DCMTK finished reading it");
    // OFCondition texts for parse errors are fixed strings: no values in them.
    return reject(RejectReason::malformed,
                  std::string("DCMTK cannot parse the dataset: ") + condition.text());
}

template <class T>
const Rejection* asRejection(const std::variant<T, Rejection>& v) {
    return std::get_if<Rejection>(&v);
}

constexpr UidAttribute kSopClassUid{0x00080016, "(0008,0016) SOP Class UID"};
constexpr UidAttribute kSopInstanceUid{0x00080018, "(0008,0018) SOP Instance UID"};
constexpr UidAttribute kStudyInstanceUid{0x0020000D, "(0020,000D) Study Instance UID"};
constexpr UidAttribute kSeriesInstanceUid{0x0020000E, "(0020,000E) Series Instance UID"};
constexpr std::uint32_t kCapturedTags[] = {kSopClassUid.tag, kSopInstanceUid.tag,
                                           kStudyInstanceUid.tag, kSeriesInstanceUid.tag};

}  // namespace

std::variant<InstanceFields, Rejection> parseInstance(std::span<const std::uint8_t> part10,
                                                      std::size_t maxBytes, const core::Sha256Digest* objectDigest) {
    if (part10.size() > maxBytes)
        return reject(RejectReason::too_large, "the object is " + std::to_string(part10.size()) +
                                                   " bytes, over the limit of " +
                                                   std::to_string(maxBytes));
    if (part10.size() < detail::kMetaStart ||
        std::memcmp(part10.data() + detail::kPreambleSize, "DICM", 4) != 0)
        return reject(RejectReason::not_dicom,
                      "no \"DICM\" after a 128-byte preamble: not a DICOM Part 10 object");

    auto scanned = detail::scanFileMeta(part10);
    if (const Rejection* r = asRejection(scanned)) return *r;
    const detail::FileMeta& meta = std::get<detail::FileMeta>(scanned);

    const auto transferSyntax =
        requiredMetaUid(meta.transferSyntaxUid, "(0002,0010) Transfer Syntax UID");
    if (const Rejection* r = asRejection(transferSyntax)) return *r;
    const std::string& tsUid = std::get<std::string>(transferSyntax);

    // A DICOMDIR has no SOP Instance of its own: say what it is before asking for one.
    if (meta.mediaStorageSopClassUid == std::string(UID_MediaStorageDirectoryStorage))
        return reject(RejectReason::is_dicomdir, "a DICOMDIR is an index, not an image");

    const auto metaSopClass =
        requiredMetaUid(meta.mediaStorageSopClassUid, "(0002,0002) Media Storage SOP Class UID");
    if (const Rejection* r = asRejection(metaSopClass)) return *r;
    const auto metaSopInstance = requiredMetaUid(meta.mediaStorageSopInstanceUid,
                                                 "(0002,0003) Media Storage SOP Instance UID");
    if (const Rejection* r = asRejection(metaSopInstance)) return *r;

    // tsUid is a valid UID, so DcmXfer can only match it by UID, not by name.
    const DcmXfer xfer(tsUid.c_str());
    if (xfer.getXfer() == EXS_Unknown || tsUid != xfer.getXferID())
        return reject(RejectReason::unsupported,
                      "transfer syntax " + tsUid + " is not one this build can read");
    if (xfer.getStreamCompression() == ESC_unsupported)
        return reject(RejectReason::unsupported,
                      "transfer syntax " + tsUid + " uses a stream compression this build lacks");

    const std::span<const std::uint8_t> dataset = part10.subspan(meta.end);
    const detail::DatasetEncoding encoding{
        .explicitVr = xfer.isExplicitVR() != OFFalse,
        .bigEndian = xfer.getByteOrder() == EBO_BigEndian,
        .deflated = xfer.getStreamCompression() == ESC_zlib,
    };
    const detail::DatasetLimits limits{
        .maxDepth = kMaxSequenceDepth,
        .maxElements = kMaxDataElements,
        .maxInflatedBytes = maxBytes,
    };
    auto walked = detail::scanDataset(dataset, encoding, limits, kCapturedTags, kMaxRawUidBytes);
    if (const Rejection* r = asRejection(walked)) return *r;
    const detail::DatasetScan& scan = std::get<detail::DatasetScan>(walked);

    DcmDataset ds;
    {
        SpanInputStream in(dataset, 0);
        ds.transferInit();
        const OFCondition cond = ds.read(in, xfer.getXfer(), EGL_noChange, kMaxInMemoryValue);
        ds.transferEnd();
        if (cond.bad()) return fromDcmtkReadCondition(cond);
        if (!in.eos())
            return reject(RejectReason::malformed, "DCMTK stopped before the end of the dataset");
    }

    if (ds.tagExists(DCM_DirectoryRecordSequence) ||
        ds.tagExists(DCM_OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity))
        return reject(RejectReason::is_dicomdir, "a DICOMDIR is an index, not an image");

    InstanceFields f;
    for (const auto& [attr, out] :
         {std::pair{&kSopClassUid, &f.sopClassUid}, std::pair{&kSopInstanceUid, &f.sopInstanceUid},
          std::pair{&kStudyInstanceUid, &f.studyUid},
          std::pair{&kSeriesInstanceUid, &f.seriesUid}}) {
        auto uid = requiredUid(scan, *attr);
        if (const Rejection* r = asRejection(uid)) return *r;
        *out = std::move(std::get<std::string>(uid));
    }
    if (f.sopClassUid == UID_MediaStorageDirectoryStorage)
        return reject(RejectReason::is_dicomdir, "a DICOMDIR is an index, not an image");
    if (f.sopClassUid != std::get<std::string>(metaSopClass))
        return reject(RejectReason::malformed,
                      "(0002,0002) Media Storage SOP Class UID differs from (0008,0016) SOP "
                      "Class UID");
    if (f.sopInstanceUid != std::get<std::string>(metaSopInstance))
        return reject(RejectReason::malformed,
                      "(0002,0003) Media Storage SOP Instance UID differs from (0008,0018) SOP "
                      "Instance UID");

    // Catalogue text: never a reason to reject.
    const RawValue charset = rawValue(ds, DCM_SpecificCharacterSet, 256);
    detail::TextDecoder decoder(charset.state == RawValue::State::present ? charset.bytes
                                                                          : std::string());
    const auto text = [&](const DcmTagKey& key, detail::TextKind kind) {
        const RawValue v = rawValue(ds, key, kMaxRawTextBytes);
        if (v.state != RawValue::State::present) return std::string();
        return decoder.decode(v.bytes, kind, kMaxTextBytes);
    };
    const auto integer = [&](const DcmTagKey& key) -> std::optional<std::int64_t> {
        const RawValue v = rawValue(ds, key, 64);
        if (v.state != RawValue::State::present) return std::nullopt;
        return parseIntegerString(v.bytes);
    };
    using detail::TextKind;
    f.patientId = text(DCM_PatientID, TextKind::text);
    f.patientName = text(DCM_PatientName, TextKind::personName);
    f.birthDate = text(DCM_PatientBirthDate, TextKind::ascii);
    f.sex = text(DCM_PatientSex, TextKind::ascii);
    f.studyDate = text(DCM_StudyDate, TextKind::ascii);
    f.studyTime = text(DCM_StudyTime, TextKind::ascii);
    f.studyDescription = text(DCM_StudyDescription, TextKind::text);
    f.accessionNumber = text(DCM_AccessionNumber, TextKind::text);
    f.referringPhysician = text(DCM_ReferringPhysicianName, TextKind::personName);
    f.seriesNumber = integer(DCM_SeriesNumber);
    f.modality = text(DCM_Modality, TextKind::ascii);
    f.seriesDescription = text(DCM_SeriesDescription, TextKind::text);
    f.instanceNumber = integer(DCM_InstanceNumber);
    f.transferSyntaxUid = tsUid;
    f.size = part10.size();
    f.sha256 = objectDigest != nullptr ? *objectDigest : core::sha256(part10);
    f.datasetSha256 = core::sha256(dataset);
    return f;
}

std::string_view toString(RejectReason reason) noexcept {
    switch (reason) {
        case RejectReason::not_dicom: return "not_dicom";
        case RejectReason::truncated: return "truncated";
        case RejectReason::malformed: return "malformed";
        case RejectReason::missing_uid: return "missing_uid";
        case RejectReason::invalid_uid: return "invalid_uid";
        case RejectReason::too_large: return "too_large";
        case RejectReason::unsupported: return "unsupported";
        case RejectReason::is_dicomdir: return "is_dicomdir";
    }
    return "unknown";
}

bool isValidUid(std::string_view uid) noexcept {
    if (uid.empty() || uid.size() > 64) return false;
    std::size_t componentStart = 0;
    for (std::size_t i = 0; i <= uid.size(); ++i) {
        if (i == uid.size() || uid[i] == '.') {
            const std::size_t len = i - componentStart;
            if (len == 0) return false;
            if (len > 1 && uid[componentStart] == '0') return false;
            componentStart = i + 1;
        } else if (uid[i] < '0' || uid[i] > '9') {
            return false;
        }
    }
    return true;
}

}  // namespace sealport::ingest
