#include "part10_scan.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace sealport::ingest::detail {
namespace {

constexpr std::uint32_t kUndefinedLength = 0xFFFFFFFFu;
constexpr std::uint32_t kItem = 0xFFFEE000u;
constexpr std::uint32_t kItemDelimitation = 0xFFFEE00Du;
constexpr std::uint32_t kSequenceDelimitation = 0xFFFEE0DDu;
constexpr std::uint32_t kPixelData = 0x7FE00010u;

Rejection reject(RejectReason reason, std::string detail) {
    return Rejection{reason, std::move(detail)};
}

std::uint16_t load16(const std::uint8_t* p, bool bigEndian) noexcept {
    return bigEndian ? static_cast<std::uint16_t>((p[0] << 8) | p[1])
                     : static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

std::uint32_t load32(const std::uint8_t* p, bool bigEndian) noexcept {
    const std::uint32_t b0 = p[0], b1 = p[1], b2 = p[2], b3 = p[3];
    return bigEndian ? (b0 << 24) | (b1 << 16) | (b2 << 8) | b3
                     : b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
}

std::uint32_t loadTag(const std::uint8_t* p, bool bigEndian) noexcept {
    return (static_cast<std::uint32_t>(load16(p, bigEndian)) << 16) | load16(p + 2, bigEndian);
}

// A VR as its two characters packed into 16 bits ('O' << 8 | 'B').
constexpr std::uint16_t vrCode(const char (&vr)[3]) noexcept {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(vr[0]) << 8) |
                                      static_cast<unsigned char>(vr[1]));
}

// Every VR of PS3.5 Table 6.2-1 (2024). An unknown VR in an explicit-VR stream
// leaves the length field's size unknown, so it is refused rather than guessed.
bool isKnownVr(std::uint16_t vr) noexcept {
    switch (vr) {
        case vrCode("AE"): case vrCode("AS"): case vrCode("AT"): case vrCode("CS"):
        case vrCode("DA"): case vrCode("DS"): case vrCode("DT"): case vrCode("FD"):
        case vrCode("FL"): case vrCode("IS"): case vrCode("LO"): case vrCode("LT"):
        case vrCode("OB"): case vrCode("OD"): case vrCode("OF"): case vrCode("OL"):
        case vrCode("OV"): case vrCode("OW"): case vrCode("PN"): case vrCode("SH"):
        case vrCode("SL"): case vrCode("SQ"): case vrCode("SS"): case vrCode("ST"):
        case vrCode("SV"): case vrCode("TM"): case vrCode("UC"): case vrCode("UI"):
        case vrCode("UL"): case vrCode("UN"): case vrCode("UR"): case vrCode("US"):
        case vrCode("UT"): case vrCode("UV"):
            return true;
        default:
            return false;
    }
}

// VRs whose explicit encoding has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2).
bool hasLongLength(std::uint16_t vr) noexcept {
    switch (vr) {
        case vrCode("OB"): case vrCode("OD"): case vrCode("OF"): case vrCode("OL"):
        case vrCode("OV"): case vrCode("OW"): case vrCode("SQ"): case vrCode("UC"):
        case vrCode("UN"): case vrCode("UR"): case vrCode("UT"): case vrCode("SV"):
        case vrCode("UV"):
            return true;
        default:
            return false;
    }
}

std::string vrName(std::uint16_t vr) {
    return std::string{static_cast<char>(vr >> 8), static_cast<char>(vr & 0xFF)};
}

// A UI value as stored, minus its padding (trailing NUL or, wrongly but
// commonly, spaces). Anything else in it is left for the UID check to refuse.
std::string trimUidPadding(std::span<const std::uint8_t> value) {
    std::size_t n = value.size();
    while (n > 0 && (value[n - 1] == 0 || value[n - 1] == ' ')) --n;
    return std::string(reinterpret_cast<const char*>(value.data()), n);
}

// ---------------------------------------------------------------------------
// Byte sources for the dataset walk: the dataset as it lies in memory, or the
// inflated stream of a deflated dataset (inflated in pieces, never whole).

class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Exactly out.size() bytes, or false when the data ends first.
    virtual bool read(std::span<std::uint8_t> out) = 0;
    virtual bool skip(std::uint64_t count) = 0;
    virtual bool atEnd() = 0;
    [[nodiscard]] virtual std::uint64_t position() const noexcept = 0;
    // Why the data ended early, when it is more than running out of bytes.
    [[nodiscard]] virtual std::optional<Rejection> failure() const { return std::nullopt; }
};

class MemorySource final : public ByteSource {
public:
    explicit MemorySource(std::span<const std::uint8_t> data) noexcept : data_(data) {}

    bool read(std::span<std::uint8_t> out) override {
        if (out.size() > data_.size() - pos_) return false;
        if (out.empty()) return true;
        std::memcpy(out.data(), data_.data() + pos_, out.size());
        pos_ += out.size();
        return true;
    }
    bool skip(std::uint64_t count) override {
        if (count > data_.size() - pos_) return false;
        pos_ += static_cast<std::size_t>(count);
        return true;
    }
    bool atEnd() override { return pos_ == data_.size(); }
    [[nodiscard]] std::uint64_t position() const noexcept override { return pos_; }

private:
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

struct InflateStreamEnd {
    void operator()(z_stream* s) const noexcept {
        inflateEnd(s);
        delete s;
    }
};
using InflateStreamPtr = std::unique_ptr<z_stream, InflateStreamEnd>;

class InflateSource final : public ByteSource {
public:
    InflateSource(std::span<const std::uint8_t> compressed, std::uint64_t maxInflated)
        : in_(compressed), maxInflated_(maxInflated) {
        auto stream = std::make_unique<z_stream>();  // zeroed: zlib's default allocator
        // Negative window bits: raw deflate without zlib header, as PS3.5 A.5 specifies.
        if (inflateInit2(stream.get(), -MAX_WBITS) != Z_OK) {
            failure_ = reject(RejectReason::malformed, "cannot start inflating the deflated dataset");
            return;
        }
        zs_.reset(stream.release());
    }

    bool read(std::span<std::uint8_t> out) override {
        std::size_t done = 0;
        while (done < out.size()) {
            if (!fill()) return false;
            const std::size_t n = std::min(out.size() - done, bufLen_ - bufPos_);
            std::memcpy(out.data() + done, buf_.data() + bufPos_, n);
            bufPos_ += n;
            done += n;
            pos_ += n;
        }
        return true;
    }
    bool skip(std::uint64_t count) override {
        while (count > 0) {
            if (!fill()) return false;
            const std::size_t n = static_cast<std::size_t>(
                std::min<std::uint64_t>(count, bufLen_ - bufPos_));
            bufPos_ += n;
            count -= n;
            pos_ += n;
        }
        return true;
    }
    bool atEnd() override { return !fill(); }
    [[nodiscard]] std::uint64_t position() const noexcept override { return pos_; }
    [[nodiscard]] std::optional<Rejection> failure() const override { return failure_; }

private:
    // Makes at least one byte available in buf_; false at the end or on error.
    bool fill() {
        if (bufPos_ < bufLen_) return true;
        if (finished_ || failure_ || !zs_) return false;
        bufPos_ = bufLen_ = 0;
        while (bufLen_ == 0) {
            if (zs_->avail_in == 0 && inPos_ < in_.size()) {
                const std::size_t chunk = std::min<std::size_t>(in_.size() - inPos_, 1u << 30);
                // zlib's API is not const-correct; it never writes through next_in.
                zs_->next_in = const_cast<Bytef*>(in_.data() + inPos_);
                zs_->avail_in = static_cast<uInt>(chunk);
                inPos_ += chunk;
            }
            zs_->next_out = buf_.data();
            zs_->avail_out = static_cast<uInt>(buf_.size());
            const int rc = inflate(zs_.get(), Z_NO_FLUSH);
            bufLen_ = buf_.size() - zs_->avail_out;
            inflated_ += bufLen_;
            if (inflated_ > maxInflated_) {
                failure_ = reject(RejectReason::too_large,
                                  "the deflated dataset inflates to more than " +
                                      std::to_string(maxInflated_) + " bytes");
                bufLen_ = 0;
                return false;
            }
            if (rc == Z_STREAM_END) {
                // Bytes after the end of the deflate stream (PS3.5 pads odd
                // lengths with one) are not part of the dataset.
                finished_ = true;
                break;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                failure_ = reject(RejectReason::malformed, "the deflated dataset does not inflate");
                bufLen_ = 0;
                return false;
            }
            if (bufLen_ == 0 && zs_->avail_in == 0 && inPos_ == in_.size()) {
                failure_ = reject(RejectReason::truncated,
                                  "the deflated dataset ends before its deflate stream does");
                break;
            }
            if (bufLen_ == 0 && rc == Z_BUF_ERROR) {
                // No progress although input remains: zlib cannot go on.
                failure_ = reject(RejectReason::malformed, "the deflated dataset does not inflate");
                break;
            }
        }
        return bufLen_ > 0;
    }

    std::span<const std::uint8_t> in_;
    std::size_t inPos_ = 0;
    std::uint64_t maxInflated_;
    std::uint64_t inflated_ = 0;
    InflateStreamPtr zs_;
    std::vector<std::uint8_t> buf_ = std::vector<std::uint8_t>(64 * 1024);  // not on the stack
    std::size_t bufPos_ = 0, bufLen_ = 0;
    std::uint64_t pos_ = 0;
    bool finished_ = false;
    std::optional<Rejection> failure_;
};

// ---------------------------------------------------------------------------
// The dataset walk: an explicit stack instead of recursion, so that its own
// depth costs heap, not stack.

enum class FrameKind { dataset, item, sequence, fragments };

struct Frame {
    FrameKind kind;
    std::optional<std::uint64_t> end;  // defined length: where it ends
    bool explicitVr;
    bool bigEndian;
};

class DatasetWalk {
public:
    DatasetWalk(ByteSource& source, const DatasetEncoding& encoding, const DatasetLimits& limits,
                std::span<const std::uint32_t> capture, std::size_t captureMax)
        : src_(source), limits_(limits), capture_(capture), captureMax_(captureMax) {
        stack_.push_back(Frame{FrameKind::dataset, std::nullopt, encoding.explicitVr,
                               encoding.bigEndian});
    }

    std::variant<DatasetScan, Rejection> run() {
        std::optional<Rejection> result = walk();
        // The source's own reason (a deflate error, the inflation limit) says more.
        if (auto f = src_.failure()) return *f;
        if (result) return *result;
        if (auto dup = checkTopLevelTags()) return *dup;
        return std::move(scan_);
    }

private:
    // The innermost defined end enclosing the current position, if any.
    [[nodiscard]] std::optional<std::uint64_t> limit() const {
        for (auto it = stack_.rbegin(); it != stack_.rend(); ++it)
            if (it->end) return it->end;
        return std::nullopt;
    }

    // Whether `count` more bytes stay within every enclosing defined length.
    [[nodiscard]] bool fits(std::uint64_t count) const {
        const auto lim = limit();
        return !lim || count <= *lim - src_.position();
    }

    static Rejection truncatedIn(std::uint32_t tag) {
        return reject(RejectReason::truncated,
                      "the object ends inside " + formatTag(tag));
    }

    static Rejection crossesParent(std::uint32_t tag) {
        return reject(RejectReason::malformed,
                      formatTag(tag) + " runs past the end of the item or sequence holding it");
    }

    bool readExact(std::uint8_t* p, std::size_t n) { return src_.read({p, n}); }

    // `consumed`: bytes of the value already read by a look-ahead.
    std::optional<Rejection> pushFrame(FrameKind kind, std::uint32_t tag, std::uint32_t length,
                                       bool explicitVr, bool bigEndian, std::uint32_t consumed = 0) {
        Frame f{kind, std::nullopt, explicitVr, bigEndian};
        if (length != kUndefinedLength) {
            if (length < consumed || !fits(length - consumed)) return crossesParent(tag);
            f.end = src_.position() + (length - consumed);
        }
        if (kind == FrameKind::item && ++depth_ > limits_.maxDepth)
            return reject(RejectReason::too_large, "sequences are nested more than " +
                                                       std::to_string(limits_.maxDepth) +
                                                       " deep");
        stack_.push_back(f);
        return std::nullopt;
    }

    void popFrame() {
        if (stack_.back().kind == FrameKind::item) --depth_;
        stack_.pop_back();
    }

    std::optional<Rejection> walk() {
        std::optional<std::uint32_t> pendingTag;  // a tag already read by a look-ahead
        for (;;) {
            const Frame frame = stack_.back();
            if (!pendingTag) {
                if (frame.end && src_.position() == *frame.end) {
                    popFrame();
                    continue;
                }
                if (src_.atEnd()) {
                    if (frame.kind == FrameKind::dataset) return std::nullopt;
                    if (frame.end) return reject(RejectReason::truncated,
                                                 "the object ends inside an item or sequence");
                    return reject(RejectReason::truncated,
                                  "the object ends inside an item or sequence of undefined "
                                  "length before its delimiter");
                }
            }
            if (++elements_ > limits_.maxElements)
                return reject(RejectReason::too_large, "the dataset has more than " +
                                                           std::to_string(limits_.maxElements) +
                                                           " elements and items");

            std::uint32_t tag = 0;
            if (pendingTag) {
                tag = *pendingTag;
                pendingTag.reset();
            } else {
                std::uint8_t b[4];
                if (!fits(4)) return reject(RejectReason::malformed,
                                            "an element header runs past the end of its item");
                if (!readExact(b, 4)) return reject(RejectReason::truncated,
                                                    "the object ends inside an element header");
                tag = loadTag(b, frame.bigEndian);
            }

            std::optional<Rejection> r;
            switch (frame.kind) {
                case FrameKind::dataset:
                case FrameKind::item: r = element(frame, tag, pendingTag); break;
                case FrameKind::sequence: r = sequenceEntry(frame, tag); break;
                case FrameKind::fragments: r = fragment(frame, tag); break;
            }
            if (r) return r;
        }
    }

    // Reads the 4-byte length that follows an item or delimiter tag.
    std::optional<Rejection> readItemLength(const Frame& frame, std::uint32_t tag,
                                            std::uint32_t& length) {
        std::uint8_t b[4];
        if (!fits(4)) return crossesParent(tag);
        if (!readExact(b, 4)) return truncatedIn(tag);
        length = load32(b, frame.bigEndian);
        return std::nullopt;
    }

    std::optional<Rejection> element(const Frame& frame, std::uint32_t tag,
                                     std::optional<std::uint32_t>& pendingTag) {
        if (tag == kItemDelimitation) {
            std::uint32_t length = 0;
            if (auto r = readItemLength(frame, tag, length)) return r;
            if (frame.kind != FrameKind::item || frame.end)
                return reject(RejectReason::malformed,
                              "an item delimiter outside an item of undefined length");
            popFrame();
            return std::nullopt;
        }
        if ((tag >> 16) == 0xFFFE)
            return reject(RejectReason::malformed,
                          formatTag(tag) + " where a data element was expected");
        if (frame.kind == FrameKind::dataset) topLevelTags_.push_back(tag);

        std::uint16_t vr = 0;  // 0 in Implicit VR
        std::uint32_t length = 0;
        if (frame.explicitVr) {
            std::uint8_t b[4];
            if (!fits(4)) return crossesParent(tag);
            if (!readExact(b, 4)) return truncatedIn(tag);
            vr = load16(b, true);
            if (!isKnownVr(vr))
                return reject(RejectReason::malformed, formatTag(tag) + " has an unknown VR");
            if (hasLongLength(vr)) {
                std::uint8_t l[4];
                if (!fits(4)) return crossesParent(tag);
                if (!readExact(l, 4)) return truncatedIn(tag);
                length = load32(l, frame.bigEndian);
            } else {
                length = load16(b + 2, frame.bigEndian);
            }
        } else {
            std::uint8_t l[4];
            if (!fits(4)) return crossesParent(tag);
            if (!readExact(l, 4)) return truncatedIn(tag);
            length = load32(l, frame.bigEndian);
        }

        if (length == kUndefinedLength) {
            if (frame.kind == FrameKind::dataset &&
                std::find(capture_.begin(), capture_.end(), tag) != capture_.end())
                scan_.captured[tag] = RawElement{vr != 0 ? vrName(vr) : std::string(), {}, length, true};
            if (frame.explicitVr && vr != vrCode("SQ") && vr != vrCode("UN") &&
                vr != vrCode("OB") && vr != vrCode("OW"))
                return reject(RejectReason::malformed,
                              formatTag(tag) + " has an undefined length with VR " + vrName(vr));
            if (tag == kPixelData)
                return pushFrame(FrameKind::fragments, tag, length, frame.explicitVr,
                                 frame.bigEndian);
            // UN of undefined length holds Implicit VR Little Endian items (CP-246).
            if (frame.explicitVr && vr == vrCode("UN"))
                return pushFrame(FrameKind::sequence, tag, length, false, false);
            return pushFrame(FrameKind::sequence, tag, length, frame.explicitVr, frame.bigEndian);
        }

        // Past a parent's defined end is a lie; past the dataset's own end, a
        // truncation (found when the value cannot be skipped).
        if (!fits(length)) return crossesParent(tag);
        const bool captured = frame.kind == FrameKind::dataset &&
                              std::find(capture_.begin(), capture_.end(), tag) != capture_.end();
        if (captured) {
            RawElement& raw = scan_.captured[tag];
            raw.vr = vr != 0 ? vrName(vr) : std::string();
            raw.length = length;
            raw.container = frame.explicitVr && vr == vrCode("SQ");
            if (!raw.container) {
                // Only UI attributes are captured: DCMTK reads them as leaves
                // (its dictionary says so), so they are not walked into.
                raw.bytes.resize(std::min<std::size_t>(length, captureMax_));
                if (!readExact(reinterpret_cast<std::uint8_t*>(raw.bytes.data()), raw.bytes.size()) ||
                    !src_.skip(length - raw.bytes.size()))
                    return truncatedValue(tag, length);
                return std::nullopt;
            }
        }
        if (frame.explicitVr && vr == vrCode("SQ"))
            return pushFrame(FrameKind::sequence, tag, length, frame.explicitVr, frame.bigEndian);

        // Implicit VR and UN values may be sequences DCMTK recognises from its
        // dictionary (private ones included) or from CP-246: walk into every
        // such value that starts with an item tag, so none escapes the depth bound.
        const bool mayBeSequence = !frame.explicitVr || vr == vrCode("UN");
        if (mayBeSequence && length >= 8) {
            std::uint8_t b[4];
            if (!readExact(b, 4)) return truncatedValue(tag, length);
            if (loadTag(b, false) == kItem) {
                if (auto r = pushFrame(FrameKind::sequence, tag, length, false, false, 4)) return r;
                pendingTag = kItem;
                return std::nullopt;
            }
            if (!src_.skip(length - 4)) return truncatedValue(tag, length);
            return std::nullopt;
        }
        if (!src_.skip(length)) return truncatedValue(tag, length);
        return std::nullopt;
    }

    static Rejection truncatedValue(std::uint32_t tag, std::uint32_t length) {
        return reject(RejectReason::truncated, formatTag(tag) + " announces " +
                                                   std::to_string(length) +
                                                   " bytes, but the object ends first");
    }

    std::optional<Rejection> sequenceEntry(const Frame& frame, std::uint32_t tag) {
        std::uint32_t length = 0;
        if (tag == kItem) {
            if (auto r = readItemLength(frame, tag, length)) return r;
            return pushFrame(FrameKind::item, tag, length, frame.explicitVr, frame.bigEndian);
        }
        if (tag == kSequenceDelimitation) {
            if (auto r = readItemLength(frame, tag, length)) return r;
            if (frame.end)
                return reject(RejectReason::malformed,
                              "a sequence delimiter in a sequence of defined length");
            popFrame();
            return std::nullopt;
        }
        return reject(RejectReason::malformed,
                      formatTag(tag) + " inside a sequence, where an item was expected");
    }

    std::optional<Rejection> fragment(const Frame& frame, std::uint32_t tag) {
        std::uint32_t length = 0;
        if (tag == kItem) {
            if (auto r = readItemLength(frame, tag, length)) return r;
            if (length == kUndefinedLength)
                return reject(RejectReason::malformed,
                              "a pixel data fragment of undefined length");
            if (!fits(length)) return crossesParent(tag);
            if (!src_.skip(length)) return truncatedValue(kPixelData, length);
            return std::nullopt;
        }
        if (tag == kSequenceDelimitation) {
            if (auto r = readItemLength(frame, tag, length)) return r;
            popFrame();
            return std::nullopt;
        }
        return reject(RejectReason::malformed,
                      formatTag(tag) + " inside encapsulated pixel data, where a fragment was "
                                       "expected");
    }

    // Two values for one attribute would let the catalogue and a viewer
    // disagree about whose images these are.
    std::optional<Rejection> checkTopLevelTags() {
        std::sort(topLevelTags_.begin(), topLevelTags_.end());
        const auto dup = std::adjacent_find(topLevelTags_.begin(), topLevelTags_.end());
        if (dup != topLevelTags_.end())
            return reject(RejectReason::malformed,
                          formatTag(*dup) + " appears more than once in the dataset");
        return std::nullopt;
    }

    ByteSource& src_;
    const DatasetLimits& limits_;
    std::span<const std::uint32_t> capture_;
    std::size_t captureMax_;
    DatasetScan scan_;
    std::vector<Frame> stack_;
    std::vector<std::uint32_t> topLevelTags_;
    std::size_t depth_ = 0;
    std::size_t elements_ = 0;
};

}  // namespace

std::string formatTag(std::uint32_t tag) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "(%04X,%04X)", static_cast<unsigned>(tag >> 16),
                  static_cast<unsigned>(tag & 0xFFFF));
    return buf;
}

std::variant<FileMeta, Rejection> scanFileMeta(std::span<const std::uint8_t> part10) {
    FileMeta meta;
    std::size_t pos = kMetaStart;
    std::size_t groupLengthBase = 0;
    unsigned count = 0;
    std::uint16_t previousElement = 0;
    const std::size_t size = part10.size();
    const std::uint8_t* d = part10.data();

    while (size - pos >= 4 && load16(d + pos, false) == 0x0002) {
        const std::uint16_t element = load16(d + pos + 2, false);
        const std::uint32_t tag = 0x00020000u | element;
        if (count > 0 && element <= previousElement)
            return reject(RejectReason::malformed,
                          "File Meta Information element " + formatTag(tag) +
                              " is out of order or repeated");
        if (size - pos < 8)
            return reject(RejectReason::truncated, "the object ends inside the File Meta Information");
        const std::uint16_t vr = load16(d + pos + 4, true);
        if (!isKnownVr(vr))
            return reject(RejectReason::malformed,
                          "the File Meta Information is not in Explicit VR Little Endian "
                          "(element " + formatTag(tag) + ")");
        std::size_t header = 8;
        std::uint32_t length = load16(d + pos + 6, false);
        if (hasLongLength(vr)) {
            header = 12;
            if (size - pos < header)
                return reject(RejectReason::truncated,
                              "the object ends inside the File Meta Information");
            length = load32(d + pos + 8, false);
            if (length == kUndefinedLength)
                return reject(RejectReason::malformed,
                              "File Meta Information element " + formatTag(tag) +
                                  " has an undefined length");
        }
        if (length > size - pos - header)
            return reject(RejectReason::truncated,
                          "File Meta Information element " + formatTag(tag) + " announces " +
                              std::to_string(length) + " bytes, but the object ends first");

        const std::span<const std::uint8_t> value = part10.subspan(pos + header, length);
        switch (element) {
            case 0x0000:
                if (vr == vrCode("UL") && length == 4) {
                    meta.groupLength = load32(value.data(), false);
                    groupLengthBase = pos + header + length;
                }
                break;
            case 0x0002: meta.mediaStorageSopClassUid = trimUidPadding(value); break;
            case 0x0003: meta.mediaStorageSopInstanceUid = trimUidPadding(value); break;
            case 0x0010: meta.transferSyntaxUid = trimUidPadding(value); break;
            default: break;
        }
        pos += header + length;
        previousElement = element;
        ++count;
    }
    if (count == 0) {
        if (size - pos < 4)
            return reject(RejectReason::truncated, "the object ends right after DICM");
        return reject(RejectReason::malformed, "no File Meta Information (group 0002) after DICM");
    }
    meta.end = pos;
    meta.groupLengthAgrees = meta.groupLength.has_value() &&
                             *meta.groupLength == meta.end - groupLengthBase;
    return meta;
}

std::variant<DatasetScan, Rejection> scanDataset(std::span<const std::uint8_t> dataset,
                                                 const DatasetEncoding& encoding,
                                                 const DatasetLimits& limits,
                                                 std::span<const std::uint32_t> capture,
                                                 std::size_t captureMax) {
    if (encoding.deflated) {
        InflateSource source(dataset, limits.maxInflatedBytes);
        return DatasetWalk(source, encoding, limits, capture, captureMax).run();
    }
    MemorySource source(dataset);
    return DatasetWalk(source, encoding, limits, capture, captureMax).run();
}

}  // namespace sealport::ingest::detail
