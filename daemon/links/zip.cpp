#include "sealport/links/zip.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace sealport::links {
namespace {

// APPNOTE 4.4.1.4: a 32-bit field holding 0xFFFFFFFF (or a 16-bit count holding
// 0xFFFF) means "see the ZIP64 record", so the escape starts at the maximum itself.
constexpr std::uint64_t kZip64SizeThreshold = 0xFFFFFFFF;
constexpr std::uint64_t kZip64OffsetThreshold = 0xFFFFFFFF;
constexpr std::uint64_t kZip64CountThreshold = 0xFFFF;
constexpr std::uint32_t kEscaped32 = 0xFFFFFFFF;
constexpr std::uint16_t kEscaped16 = 0xFFFF;
constexpr std::size_t kMaxNameBytes = 0xFFFF;

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint16_t kZip64ExtraId = 0x0001;

constexpr std::size_t kLocalFixedBytes = 30;
constexpr std::size_t kLocalZip64ExtraBytes = 20;  // id, length, both sizes
constexpr std::size_t kCentralFixedBytes = 46;
constexpr std::size_t kZip64ExtraHeadBytes = 4;
constexpr std::size_t kZip64FieldBytes = 8;
constexpr std::size_t kZip64EndBytes = 56;
constexpr std::size_t kZip64LocatorBytes = 20;
constexpr std::size_t kEndBytes = 22;
constexpr std::uint64_t kZip64EndRemainder = kZip64EndBytes - 12;  // minus signature and this field

constexpr std::uint16_t kVersionPlain = 20;  // 2.0: stored entries, '/' paths
constexpr std::uint16_t kVersionZip64 = 45;  // 4.5: ZIP64 extensions
constexpr std::uint16_t kHostUnix = 3 << 8;  // so that Info-ZIP applies the mode below
constexpr std::uint32_t kRegularFile0644 = 0100644U << 16;
constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kFlagsNone = 0;  // names are ASCII: no UTF-8 bit; no data descriptor

// Where one entry's records overflow their 32-bit fields.
struct EntryLayout {
    bool zip64Sizes = false;   // local ZIP64 extra with both sizes; both central sizes escaped
    bool zip64Offset = false;  // central local-header offset escaped

    EntryLayout(const ZipEntry& entry, std::uint64_t localOffset)
        : zip64Sizes(entry.size >= kZip64SizeThreshold)
        , zip64Offset(localOffset >= kZip64OffsetThreshold) {}

    [[nodiscard]] std::size_t centralZip64Fields() const {
        return (zip64Sizes ? 2U : 0U) + (zip64Offset ? 1U : 0U);
    }
    [[nodiscard]] std::size_t localExtraBytes() const {
        return zip64Sizes ? kLocalZip64ExtraBytes : 0;
    }
    [[nodiscard]] std::size_t centralExtraBytes() const {
        const std::size_t k = centralZip64Fields();
        return k == 0 ? 0 : kZip64ExtraHeadBytes + kZip64FieldBytes * k;
    }
    // One value for both headers of the entry.
    [[nodiscard]] std::uint16_t versionNeeded() const {
        return centralZip64Fields() != 0 ? kVersionZip64 : kVersionPlain;
    }
};

std::uint64_t checkedAdd(std::uint64_t a, std::uint64_t b) {
    std::uint64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum))
        throw ZipError("zip archive length overflows");
    return sum;
}

std::string entryLabel(std::size_t index) {
    return "zip entry " + std::to_string(index) + ": ";
}

// Names come from our own layout (DICOMDIR, README.TXT, DICOM/...), so anything
// an extractor could misplace is a bug upstream: fail rather than sanitise.
void validateName(std::string_view name, std::size_t index) {
    if (name.empty())
        throw ZipError(entryLabel(index) + "empty name");
    if (name.size() > kMaxNameBytes)
        throw ZipError(entryLabel(index) + "name longer than 65535 bytes");
    for (const char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7F)
            throw ZipError(entryLabel(index) + "name has a control or non-ASCII byte");
        // ':' would name a drive or an NTFS stream on Windows.
        if (c == '\\' || c == ':')
            throw ZipError(entryLabel(index) + "name has a backslash or colon");
    }
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = name.find('/', start);
        const std::string_view part = name.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part.empty())
            throw ZipError(entryLabel(index) + "name is absolute or has an empty component");
        if (part == "." || part == "..")
            throw ZipError(entryLabel(index) + "name has a '.' or '..' component");
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
}

struct ArchivePlan {
    std::uint64_t centralOffset = 0;  // also the sum of all local records and data
    std::uint64_t centralBytes = 0;
    bool zip64End = false;
    std::uint64_t total = 0;
};

// The length formula: it needs only names, sizes and order. The stream checks its
// own output against it, so a disagreement stops the archive instead of
// contradicting the Content-Length sent before it.
ArchivePlan planArchive(std::span<const ZipEntry> entries) {
    ArchivePlan plan;
    std::unordered_set<std::string_view> names;
    names.reserve(entries.size());
    std::uint64_t offset = 0;
    std::uint64_t central = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const ZipEntry& entry = entries[i];
        validateName(entry.name, i);
        // Two entries with one name: an extractor would silently keep one of them.
        if (!names.insert(entry.name).second)
            throw ZipError(entryLabel(i) + "duplicate name");
        const EntryLayout layout(entry, offset);
        offset =
            checkedAdd(offset, kLocalFixedBytes + entry.name.size() + layout.localExtraBytes());
        offset = checkedAdd(offset, entry.size);
        central = checkedAdd(central,
                             kCentralFixedBytes + entry.name.size() + layout.centralExtraBytes());
    }
    plan.centralOffset = offset;
    plan.centralBytes = central;
    plan.zip64End = entries.size() >= kZip64CountThreshold || central >= kZip64SizeThreshold ||
                    offset >= kZip64OffsetThreshold;
    plan.total = checkedAdd(checkedAdd(offset, central),
                            (plan.zip64End ? kZip64EndBytes + kZip64LocatorBytes : 0) + kEndBytes);
    return plan;
}

// An end-record field: its real value when it fits, else the escape.
std::uint32_t endField32(std::uint64_t value) {
    return value >= kZip64OffsetThreshold ? kEscaped32 : static_cast<std::uint32_t>(value);
}

// Little-endian fields into a fixed buffer.
class FieldWriter {
  public:
    explicit FieldWriter(std::span<std::uint8_t> buffer) : buffer_(buffer) {}
    FieldWriter& u16(std::uint16_t v) { return put(v, 2); }
    FieldWriter& u32(std::uint32_t v) { return put(v, 4); }
    FieldWriter& u64(std::uint64_t v) { return put(v, 8); }
    [[nodiscard]] std::size_t size() const noexcept { return used_; }

  private:
    FieldWriter& put(std::uint64_t v, std::size_t bytes) {
        if (used_ + bytes > buffer_.size())
            throw std::logic_error("zip record buffer too small");
        for (std::size_t i = 0; i < bytes; ++i)
            buffer_[used_ + i] = static_cast<std::uint8_t>(v >> (8 * i));
        used_ += bytes;
        return *this;
    }

    std::span<std::uint8_t> buffer_;
    std::size_t used_ = 0;
};

// One record on its way out: fixed fields, then the entry name (borrowed from the
// entry list, never copied), then the ZIP64 extra. Names may be 64 KiB, so they
// are not staged in a buffer.
class PendingRecord {
  public:
    std::span<std::uint8_t> fixedBuffer() { return fixed_; }
    std::span<std::uint8_t> extraBuffer() { return extra_; }

    void start(std::size_t fixedBytes, std::string_view name, std::size_t extraBytes) {
        fixedBytes_ = fixedBytes;
        name_ = name;
        extraBytes_ = extraBytes;
        position_ = 0;
        active_ = true;
    }
    [[nodiscard]] bool active() const noexcept { return active_; }
    [[nodiscard]] bool finished() const noexcept { return position_ == length(); }
    void clear() noexcept { active_ = false; }

    std::size_t emit(std::span<std::uint8_t> out) {
        std::size_t written = 0;
        written += copyPart(out, written, {fixed_.data(), fixedBytes_}, 0);
        written += copyPart(out, written,
                            {reinterpret_cast<const std::uint8_t*>(name_.data()), name_.size()},
                            fixedBytes_);
        written += copyPart(out, written, {extra_.data(), extraBytes_}, fixedBytes_ + name_.size());
        return written;
    }

  private:
    [[nodiscard]] std::size_t length() const noexcept {
        return fixedBytes_ + name_.size() + extraBytes_;
    }

    // Copies what is left of the part that starts at `partStart` in the record.
    std::size_t copyPart(std::span<std::uint8_t> out, std::size_t written,
                         std::span<const std::uint8_t> part, std::size_t partStart) {
        if (position_ < partStart || position_ >= partStart + part.size())
            return 0;
        const std::size_t from = position_ - partStart;
        const std::size_t n = std::min(part.size() - from, out.size() - written);
        if (n == 0)
            return 0;
        std::memcpy(out.data() + written, part.data() + from, n);
        position_ += n;
        return n;
    }

    std::array<std::uint8_t, kZip64EndBytes> fixed_{};  // the largest fixed part
    std::array<std::uint8_t, kZip64ExtraHeadBytes + 3 * kZip64FieldBytes> extra_{};
    std::size_t fixedBytes_ = 0;
    std::string_view name_;
    std::size_t extraBytes_ = 0;
    std::size_t position_ = 0;
    bool active_ = false;
};

enum class Phase { localHeader, entryData, centralHeader, zip64End, zip64Locator, end, done };

}  // namespace

DosDateTime DosDateTime::fromUnix(std::int64_t unixSeconds) {
    constexpr std::int64_t kFirst = 315532800;  // 1980-01-01T00:00:00Z
    constexpr std::int64_t kLast = 4354819199;  // 2107-12-31T23:59:59Z
    using namespace std::chrono;
    const sys_seconds t{seconds{std::clamp(unixSeconds, kFirst, kLast)}};
    const sys_days day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> clock{t - day};
    DosDateTime out;
    out.date =
        static_cast<std::uint16_t>(((static_cast<int>(ymd.year()) - 1980) << 9) |
                                   (static_cast<int>(static_cast<unsigned>(ymd.month())) << 5) |
                                   static_cast<int>(static_cast<unsigned>(ymd.day())));
    out.time =
        static_cast<std::uint16_t>((clock.hours().count() << 11) | (clock.minutes().count() << 5) |
                                   (clock.seconds().count() / 2));
    return out;
}

std::uint64_t zipLength(std::span<const ZipEntry> entries) {
    return planArchive(entries).total;
}

struct ZipStream::Impl {
    Impl(std::vector<ZipEntry> e, OpenEntry o, DosDateTime w)
        : entries(std::move(e)), open(std::move(o)), when(w), plan(planArchive(entries)) {
        if (!open && !entries.empty())
            throw std::invalid_argument("ZipStream needs an OpenEntry");
    }

    std::size_t step(std::span<std::uint8_t> out);
    std::size_t stepLocalHeader(std::span<std::uint8_t> out);
    std::size_t stepEntryData(std::span<std::uint8_t> out);
    std::size_t stepCentralHeader(std::span<std::uint8_t> out);
    std::size_t stepEndRecord(std::span<std::uint8_t> out);
    std::size_t emitRecord(std::span<std::uint8_t> out);
    void expectProduced(std::uint64_t planned, const char* where) const;
    [[nodiscard]] std::uint64_t localRecordBytes(const ZipEntry& entry,
                                                 const EntryLayout& layout) const {
        return kLocalFixedBytes + entry.name.size() + layout.localExtraBytes() + entry.size;
    }

    const std::vector<ZipEntry> entries;
    const OpenEntry open;
    const DosDateTime when;
    const ArchivePlan plan;

    Phase phase = Phase::localHeader;
    std::size_t index = 0;          // the entry whose local or central record is being written
    std::uint64_t entryOffset = 0;  // its local header's offset, recomputed in the central pass
    std::uint64_t remaining = 0;    // data bytes the current source still owes
    std::unique_ptr<EntrySource> source;
    PendingRecord record;
    std::uint64_t produced = 0;
    bool failed = false;
    std::array<std::uint8_t, 1> probe{};  // asks a source that has given `size` bytes for one more
};

void ZipStream::Impl::expectProduced(std::uint64_t planned, const char* where) const {
    if (produced != planned)
        throw ZipError(std::string("zip stream is off its plan at ") + where + ": produced " +
                       std::to_string(produced) + ", planned " + std::to_string(planned));
}

std::size_t ZipStream::Impl::emitRecord(std::span<std::uint8_t> out) {
    const std::size_t n = record.emit(out);
    produced += n;
    return n;
}

std::size_t ZipStream::Impl::step(std::span<std::uint8_t> out) {
    switch (phase) {
        case Phase::localHeader:
            return stepLocalHeader(out);
        case Phase::entryData:
            return stepEntryData(out);
        case Phase::centralHeader:
            return stepCentralHeader(out);
        case Phase::zip64End:
        case Phase::zip64Locator:
        case Phase::end:
            return stepEndRecord(out);
        case Phase::done:
            return 0;
    }
    throw std::logic_error("zip stream in an unknown phase");
}

std::size_t ZipStream::Impl::stepLocalHeader(std::span<std::uint8_t> out) {
    if (!record.active()) {
        expectProduced(entryOffset, "a local header");
        if (index == entries.size()) {
            expectProduced(plan.centralOffset, "the central directory");
            phase = Phase::centralHeader;
            index = 0;
            entryOffset = 0;
            return 0;
        }
        const ZipEntry& entry = entries[index];
        const EntryLayout layout(entry, entryOffset);
        FieldWriter fixed(record.fixedBuffer());
        fixed.u32(kLocalHeaderSig)
            .u16(layout.versionNeeded())
            .u16(kFlagsNone)
            .u16(kMethodStored)
            .u16(when.time)
            .u16(when.date)
            .u32(entry.crc32)
            .u32(layout.zip64Sizes ? kEscaped32 : static_cast<std::uint32_t>(entry.size))
            .u32(layout.zip64Sizes ? kEscaped32 : static_cast<std::uint32_t>(entry.size))
            .u16(static_cast<std::uint16_t>(entry.name.size()))
            .u16(static_cast<std::uint16_t>(layout.localExtraBytes()));
        FieldWriter extra(record.extraBuffer());
        if (layout.zip64Sizes) {
            extra.u16(kZip64ExtraId).u16(2 * kZip64FieldBytes).u64(entry.size).u64(entry.size);
        }
        record.start(fixed.size(), entry.name, extra.size());
    }
    const std::size_t n = emitRecord(out);
    if (record.finished()) {
        record.clear();
        remaining = entries[index].size;
        phase = Phase::entryData;
    }
    return n;
}

std::size_t ZipStream::Impl::stepEntryData(std::span<std::uint8_t> out) {
    if (!source) {
        source = open(index);
        if (!source)
            throw ZipError(entryLabel(index) + "no source");
    }
    if (remaining > 0) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), remaining));
        const std::size_t got = source->read(out.first(want));
        if (got == 0)
            throw ZipError(entryLabel(index) + "source ended " + std::to_string(remaining) +
                           " bytes before its announced size");
        if (got > want)
            throw ZipError(entryLabel(index) + "source claims more bytes than it was asked for");
        remaining -= got;
        produced += got;
        return got;
    }
    if (source->read(probe) != 0)
        throw ZipError(entryLabel(index) + "source has more bytes than its announced size");
    source.reset();
    entryOffset += localRecordBytes(entries[index], EntryLayout(entries[index], entryOffset));
    ++index;
    phase = Phase::localHeader;
    return 0;
}

std::size_t ZipStream::Impl::stepCentralHeader(std::span<std::uint8_t> out) {
    if (!record.active()) {
        if (index == entries.size()) {
            expectProduced(plan.centralOffset + plan.centralBytes,
                           "the end of the central directory");
            phase = plan.zip64End ? Phase::zip64End : Phase::end;
            return 0;
        }
        const ZipEntry& entry = entries[index];
        const EntryLayout layout(entry, entryOffset);
        FieldWriter fixed(record.fixedBuffer());
        fixed.u32(kCentralHeaderSig)
            .u16(static_cast<std::uint16_t>(kHostUnix | layout.versionNeeded()))
            .u16(layout.versionNeeded())
            .u16(kFlagsNone)
            .u16(kMethodStored)
            .u16(when.time)
            .u16(when.date)
            .u32(entry.crc32)
            .u32(layout.zip64Sizes ? kEscaped32 : static_cast<std::uint32_t>(entry.size))
            .u32(layout.zip64Sizes ? kEscaped32 : static_cast<std::uint32_t>(entry.size))
            .u16(static_cast<std::uint16_t>(entry.name.size()))
            .u16(static_cast<std::uint16_t>(layout.centralExtraBytes()))
            .u16(0)  // comment length
            .u16(0)  // disk number start
            .u16(0)  // internal attributes
            .u32(kRegularFile0644)
            .u32(layout.zip64Offset ? kEscaped32 : static_cast<std::uint32_t>(entryOffset));
        // Only the escaped fields, in APPNOTE order: uncompressed, compressed, offset.
        FieldWriter extra(record.extraBuffer());
        if (layout.centralZip64Fields() != 0) {
            extra.u16(kZip64ExtraId)
                .u16(static_cast<std::uint16_t>(kZip64FieldBytes * layout.centralZip64Fields()));
            if (layout.zip64Sizes)
                extra.u64(entry.size).u64(entry.size);
            if (layout.zip64Offset)
                extra.u64(entryOffset);
        }
        record.start(fixed.size(), entry.name, extra.size());
    }
    const std::size_t n = emitRecord(out);
    if (record.finished()) {
        record.clear();
        entryOffset += localRecordBytes(entries[index], EntryLayout(entries[index], entryOffset));
        ++index;
    }
    return n;
}

std::size_t ZipStream::Impl::stepEndRecord(std::span<std::uint8_t> out) {
    const std::uint64_t count = entries.size();
    const std::uint64_t centralEnd = plan.centralOffset + plan.centralBytes;
    if (!record.active()) {
        FieldWriter fixed(record.fixedBuffer());
        switch (phase) {
            case Phase::zip64End:
                expectProduced(centralEnd, "the ZIP64 end record");
                fixed.u32(kZip64EndSig)
                    .u64(kZip64EndRemainder)
                    .u16(static_cast<std::uint16_t>(kHostUnix | kVersionZip64))
                    .u16(kVersionZip64)
                    .u32(0)  // this disk
                    .u32(0)  // disk with the central directory
                    .u64(count)
                    .u64(count)
                    .u64(plan.centralBytes)
                    .u64(plan.centralOffset);
                break;
            case Phase::zip64Locator:
                expectProduced(centralEnd + kZip64EndBytes, "the ZIP64 locator");
                fixed.u32(kZip64LocatorSig).u32(0).u64(centralEnd).u32(1);  // one disk in total
                break;
            default: {
                expectProduced(plan.total - kEndBytes, "the end record");
                const auto count16 =
                    count >= kZip64CountThreshold ? kEscaped16 : static_cast<std::uint16_t>(count);
                fixed.u32(kEndSig)
                    .u16(0)  // this disk
                    .u16(0)  // disk with the central directory
                    .u16(count16)
                    .u16(count16)
                    .u32(endField32(plan.centralBytes))
                    .u32(endField32(plan.centralOffset))
                    .u16(0);  // comment length
                break;
            }
        }
        record.start(fixed.size(), {}, 0);
    }
    const std::size_t n = emitRecord(out);
    if (record.finished()) {
        record.clear();
        switch (phase) {
            case Phase::zip64End:
                phase = Phase::zip64Locator;
                break;
            case Phase::zip64Locator:
                phase = Phase::end;
                break;
            default:
                expectProduced(plan.total, "the end of the archive");
                phase = Phase::done;
                break;
        }
    }
    return n;
}

ZipStream::ZipStream(std::vector<ZipEntry> entries, OpenEntry open, DosDateTime when)
    : impl_(std::make_unique<Impl>(std::move(entries), std::move(open), when)) {}

ZipStream::~ZipStream() = default;

std::uint64_t ZipStream::size() const noexcept {
    return impl_->plan.total;
}

std::uint64_t ZipStream::produced() const noexcept {
    return impl_->produced;
}

std::size_t ZipStream::next(std::span<std::uint8_t> out) {
    Impl& s = *impl_;
    if (s.failed)
        throw ZipError("zip stream already failed");
    if (s.phase == Phase::done)
        return 0;
    if (out.empty())
        throw std::invalid_argument("ZipStream::next needs a non-empty buffer");
    try {
        std::size_t written = 0;
        while (written < out.size() && s.phase != Phase::done)
            written += s.step(out.subspan(written));
        return written;
    } catch (...) {
        s.failed = true;
        s.source.reset();
        throw;
    }
}

}  // namespace sealport::links
