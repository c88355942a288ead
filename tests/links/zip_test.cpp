// The streamed ZIP writer, checked by independent readers: Info-ZIP unzip,
// Python's zipfile and a header parser written here from APPNOTE. Archives past
// 4 GiB are streamed for real, but the data of their big entries is never
// written: those sources only claim their bytes and the sink keeps everything
// else, in memory or as a sparse file whose holes read as the zeros the CRC
// fields describe.

#include "sealport/links/zip.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "temp_dir.hpp"

using namespace sealport::links;
using sealport::testing::TempDir;

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint64_t kEscape32 = 0xFFFFFFFF;
constexpr std::uint64_t kEscape16 = 0xFFFF;
// Entries at least this big are never materialised: their source claims zeros.
constexpr std::uint64_t kUnwrittenFrom = 1 << 20;

Bytes pattern(std::size_t n, std::uint32_t seed) {
    Bytes b(n);
    std::uint32_t x = seed * 2654435761U + 1;
    for (auto& c : b) {
        x = x * 1103515245U + 12345U;
        c = static_cast<std::uint8_t>(x >> 16);
    }
    return b;
}

// Reference CRC-32 (ISO-HDLC, reflected 0xEDB88320), independent of the code under test.
std::uint32_t crc32Of(std::span<const std::uint8_t> data) {
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t c = 0xFFFFFFFF;
    for (const std::uint8_t b : data)
        c = table[(c ^ b) & 0xFFU] ^ (c >> 8);
    return ~c;
}

// CRC-32 of n zero bytes in O(log n): feeding a zero byte is linear over GF(2),
// so its matrix is squared, as zlib's crc32_combine() does.
using Gf2Matrix = std::array<std::uint32_t, 32>;
std::uint32_t gf2Times(const Gf2Matrix& m, std::uint32_t v) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; v != 0; ++i, v >>= 1)
        if ((v & 1U) != 0)
            sum ^= m[i];
    return sum;
}
Gf2Matrix gf2Square(const Gf2Matrix& m) {
    Gf2Matrix sq{};
    for (std::size_t i = 0; i < 32; ++i)
        sq[i] = gf2Times(m, m[i]);
    return sq;
}
std::uint32_t crc32OfZeros(std::uint64_t n) {
    Gf2Matrix op{};  // one zero bit
    op[0] = 0xEDB88320U;
    for (std::size_t i = 1; i < 32; ++i)
        op[i] = 1U << (i - 1);
    op = gf2Square(gf2Square(gf2Square(op)));  // one zero byte
    std::uint32_t reg = 0xFFFFFFFF;
    while (n != 0) {
        if ((n & 1U) != 0)
            reg = gf2Times(op, reg);
        n >>= 1;
        if (n != 0)
            op = gf2Square(op);
    }
    return ~reg;
}

// ---------------------------------------------------------------- sources

class MemorySource : public EntrySource {
  public:
    MemorySource(std::span<const std::uint8_t> data, std::size_t maxChunk)
        : data_(data), maxChunk_(maxChunk) {}
    std::size_t read(std::span<std::uint8_t> out) override {
        const std::size_t n = std::min({out.size(), maxChunk_, data_.size() - position_});
        if (n != 0)
            std::memcpy(out.data(), data_.data() + position_, n);
        position_ += n;
        return n;
    }

  private:
    std::span<const std::uint8_t> data_;
    std::size_t maxChunk_;
    std::size_t position_ = 0;
};

// Claims `size` bytes without writing them; only for entries whose data the sink drops.
class UnwrittenSource : public EntrySource {
  public:
    explicit UnwrittenSource(std::uint64_t size) : left_(size) {}
    std::size_t read(std::span<std::uint8_t> out) override {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), left_));
        left_ -= n;
        return n;
    }

  private:
    std::uint64_t left_;
};

// An archive to build: names and sizes, and the content of the small entries.
struct TestEntry {
    std::string name;
    std::uint64_t size = 0;
    Bytes data;  // empty for unwritten (zero) entries

    [[nodiscard]] bool unwritten() const { return size >= kUnwrittenFrom; }
};

TestEntry entry(std::string name, std::uint64_t size) {
    TestEntry e{std::move(name), size, {}};
    if (!e.unwritten())
        e.data = pattern(static_cast<std::size_t>(size),
                         static_cast<std::uint32_t>(size + e.name.size()));
    return e;
}

std::vector<ZipEntry> zipEntries(const std::vector<TestEntry>& entries) {
    std::vector<ZipEntry> out;
    for (const auto& e : entries)
        out.push_back(
            ZipEntry{e.name, e.size, e.unwritten() ? crc32OfZeros(e.size) : crc32Of(e.data)});
    return out;
}

OpenEntry opener(const std::vector<TestEntry>& entries,
                 std::size_t maxChunk = std::numeric_limits<std::size_t>::max()) {
    return [&entries, maxChunk](std::size_t i) -> std::unique_ptr<EntrySource> {
        const TestEntry& e = entries.at(i);
        if (e.unwritten())
            return std::make_unique<UnwrittenSource>(e.size);
        return std::make_unique<MemorySource>(e.data, maxChunk);
    };
}

// ---------------------------------------------------------------- reference layout

// The brief's length formula (APPNOTE record sizes), derived again here so that
// the code under test is checked against a second derivation.
struct ReferenceLayout {
    std::vector<std::uint64_t> localOffsets;
    std::vector<std::uint64_t> dataOffsets;
    std::vector<unsigned> zip64Fields;  // fields in each central ZIP64 extra
    std::uint64_t centralOffset = 0;
    std::uint64_t centralBytes = 0;
    bool zip64End = false;
    std::uint64_t total = 0;
};

ReferenceLayout referenceLayout(const std::vector<ZipEntry>& entries) {
    ReferenceLayout r;
    std::uint64_t off = 0;
    std::uint64_t cd = 0;
    for (const auto& e : entries) {
        const bool big = e.size >= kEscape32;
        const unsigned k = (big ? 2U : 0U) + (off >= kEscape32 ? 1U : 0U);
        r.localOffsets.push_back(off);
        r.dataOffsets.push_back(off + 30 + e.name.size() + (big ? 20U : 0U));
        r.zip64Fields.push_back(k);
        off += 30 + e.name.size() + (big ? 20U : 0U) + e.size;
        cd += 46 + e.name.size() + (k != 0 ? 4 + 8 * k : 0U);
    }
    r.centralOffset = off;
    r.centralBytes = cd;
    r.zip64End = entries.size() >= kEscape16 || cd >= kEscape32 || off >= kEscape32;
    r.total = off + cd + (r.zip64End ? 56U + 20U : 0U) + 22;
    return r;
}

// ---------------------------------------------------------------- sinks

// Pulls the whole archive with `chunk`-byte calls; checks the call contract.
Bytes drain(ZipStream& zip, std::size_t chunk) {
    Bytes all;
    Bytes buf(chunk);
    std::string problem;
    for (;;) {
        const std::size_t n = zip.next(buf);
        if (n == 0)
            break;
        if (n > chunk)
            problem = "next() wrote past its buffer";
        all.insert(all.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        if (zip.produced() != all.size())
            problem = "produced() disagrees with the bytes given";
        if (n != chunk && zip.produced() != zip.size())
            problem = "next() left its buffer part empty mid-archive";
    }
    INFO(problem);
    CHECK(problem.empty());
    CHECK(zip.next(buf) == 0);
    CHECK(zip.produced() == zip.size());
    CHECK(all.size() == zip.size());
    return all;
}

// The bytes of an archive outside the data of its unwritten entries, by offset.
class SparseArchive {
  public:
    void append(std::uint64_t offset, const std::uint8_t* data, std::size_t n) {
        if (n == 0)
            return;
        if (!segments_.empty()) {
            auto& [start, bytes] = *segments_.rbegin();
            if (start + bytes.size() == offset) {
                bytes.insert(bytes.end(), data, data + n);
                return;
            }
        }
        segments_.emplace(offset, Bytes(data, data + n));
    }
    [[nodiscard]] Bytes read(std::uint64_t offset, std::uint64_t n) const {
        auto it = segments_.upper_bound(offset);
        if (it == segments_.begin())
            throw std::runtime_error("read before the first stored byte");
        --it;
        const auto& [start, bytes] = *it;
        if (offset + n > start + bytes.size())
            throw std::runtime_error("read at " + std::to_string(offset) +
                                     " runs into an unwritten hole");
        const auto from = static_cast<std::ptrdiff_t>(offset - start);
        return Bytes(bytes.begin() + from, bytes.begin() + from + static_cast<std::ptrdiff_t>(n));
    }
    [[nodiscard]] const std::map<std::uint64_t, Bytes>& segments() const { return segments_; }
    std::uint64_t total = 0;

  private:
    std::map<std::uint64_t, Bytes> segments_;
};

// Streams the archive, keeping every byte outside the unwritten entries' data
// (located with the reference layout: a wrong layout shows up as a parse failure).
SparseArchive drainSparse(ZipStream& zip, const std::vector<TestEntry>& entries,
                          const ReferenceLayout& ref, std::size_t chunk = 16 << 20) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> holes;
    for (std::size_t i = 0; i < entries.size(); ++i)
        if (entries[i].unwritten())
            holes.emplace_back(ref.dataOffsets[i], ref.dataOffsets[i] + entries[i].size);
    SparseArchive out;
    Bytes buf(chunk);
    std::uint64_t at = 0;
    for (;;) {
        const std::size_t n = zip.next(buf);
        if (n == 0)
            break;
        std::uint64_t from = at;
        const std::uint64_t to = at + n;
        for (const auto& [holeStart, holeEnd] : holes) {
            if (holeEnd <= from || holeStart >= to)
                continue;
            if (holeStart > from)
                out.append(from, buf.data() + (from - at),
                           static_cast<std::size_t>(holeStart - from));
            from = std::min(holeEnd, to);
        }
        if (from < to)
            out.append(from, buf.data() + (from - at), static_cast<std::size_t>(to - from));
        at = to;
    }
    CHECK(at == zip.size());
    CHECK(zip.produced() == zip.size());
    out.total = at;
    return out;
}

// ---------------------------------------------------------------- parser

using ReadAt = std::function<Bytes(std::uint64_t offset, std::uint64_t n)>;

std::uint16_t le16(const Bytes& b, std::size_t at) {
    return static_cast<std::uint16_t>(b.at(at) | (b.at(at + 1) << 8));
}
std::uint32_t le32(const Bytes& b, std::size_t at) {
    return static_cast<std::uint32_t>(le16(b, at)) |
           (static_cast<std::uint32_t>(le16(b, at + 2)) << 16);
}
std::uint64_t le64(const Bytes& b, std::size_t at) {
    return static_cast<std::uint64_t>(le32(b, at)) |
           (static_cast<std::uint64_t>(le32(b, at + 4)) << 32);
}

void expect(bool ok, const std::string& what) {
    if (!ok)
        throw std::runtime_error("zip parse: " + what);
}

struct ParsedEntry {
    std::string name;
    std::uint16_t madeBy = 0, versionNeeded = 0, flags = 0, method = 0, time = 0, date = 0,
                  internalAttr = 0;
    std::uint32_t crc = 0, externalAttr = 0;
    std::uint32_t rawSize = 0, rawCompressed = 0, rawOffset = 0;
    std::uint64_t size = 0, compressedSize = 0, localOffset = 0;
    unsigned zip64Fields = 0;  // in the central ZIP64 extra
    bool otherExtras = false;
    // Local header.
    std::uint16_t localVersionNeeded = 0, localFlags = 0, localMethod = 0, localTime = 0,
                  localDate = 0;
    std::uint32_t localCrc = 0, localRawSize = 0, localRawCompressed = 0;
    bool localZip64 = false, localOtherExtras = false;
    std::uint64_t localZip64Size = 0, localZip64Compressed = 0;
    std::uint64_t dataOffset = 0;
};

struct ParsedArchive {
    std::uint16_t endCount = 0;
    std::uint32_t endCentralBytes = 0, endCentralOffset = 0;
    bool zip64End = false;
    std::uint16_t zip64MadeBy = 0, zip64Needed = 0;
    std::uint64_t count = 0, centralBytes = 0, centralOffset = 0;
    std::vector<ParsedEntry> entries;
};

// Reads an archive the way an extractor does: end record, ZIP64 locator and end
// record, central directory, then each local header.
ParsedArchive parseArchive(const ReadAt& readAt, std::uint64_t total) {
    ParsedArchive a;
    expect(total >= 22, "shorter than an end record");
    const Bytes end = readAt(total - 22, 22);
    expect(le32(end, 0) == 0x06054b50, "no end record at the end");
    expect(le16(end, 4) == 0 && le16(end, 6) == 0, "multi-disk end record");
    a.endCount = le16(end, 10);
    expect(le16(end, 8) == a.endCount, "entries on this disk differ from total entries");
    a.endCentralBytes = le32(end, 12);
    a.endCentralOffset = le32(end, 16);
    expect(le16(end, 20) == 0, "archive comment");
    a.count = a.endCount;
    a.centralBytes = a.endCentralBytes;
    a.centralOffset = a.endCentralOffset;
    std::uint64_t centralEnd = total - 22;
    if (total >= 22 + 20 && le32(readAt(total - 42, 4), 0) == 0x07064b50) {
        const Bytes loc = readAt(total - 42, 20);
        a.zip64End = true;
        expect(le32(loc, 4) == 0 && le32(loc, 16) == 1, "ZIP64 locator disks");
        const std::uint64_t at = le64(loc, 8);
        expect(at + 56 + 20 + 22 == total, "ZIP64 end record is not right before its locator");
        const Bytes z = readAt(at, 56);
        expect(le32(z, 0) == 0x06064b50, "ZIP64 end record signature");
        expect(le64(z, 4) == 44, "ZIP64 end record size");
        a.zip64MadeBy = le16(z, 12);
        a.zip64Needed = le16(z, 14);
        expect(le32(z, 16) == 0 && le32(z, 20) == 0, "ZIP64 end record disks");
        expect(le64(z, 24) == le64(z, 32), "ZIP64 entries on this disk differ from total");
        a.count = le64(z, 32);
        a.centralBytes = le64(z, 40);
        a.centralOffset = le64(z, 48);
        centralEnd = at;
    }
    expect(a.centralOffset + a.centralBytes == centralEnd,
           "central directory does not end at the end records");
    const Bytes cd = readAt(a.centralOffset, a.centralBytes);
    std::size_t p = 0;
    for (std::uint64_t i = 0; i < a.count; ++i) {
        expect(p + 46 <= cd.size(), "central directory truncated");
        expect(le32(cd, p) == 0x02014b50, "central header signature");
        ParsedEntry e;
        e.madeBy = le16(cd, p + 4);
        e.versionNeeded = le16(cd, p + 6);
        e.flags = le16(cd, p + 8);
        e.method = le16(cd, p + 10);
        e.time = le16(cd, p + 12);
        e.date = le16(cd, p + 14);
        e.crc = le32(cd, p + 16);
        e.rawCompressed = le32(cd, p + 20);
        e.rawSize = le32(cd, p + 24);
        const std::size_t nameLen = le16(cd, p + 28);
        const std::size_t extraLen = le16(cd, p + 30);
        expect(le16(cd, p + 32) == 0, "entry comment");
        expect(le16(cd, p + 34) == 0, "entry on another disk");
        e.internalAttr = le16(cd, p + 36);
        e.externalAttr = le32(cd, p + 38);
        e.rawOffset = le32(cd, p + 42);
        expect(p + 46 + nameLen + extraLen <= cd.size(), "central header runs past the directory");
        const auto nameAt = cd.begin() + static_cast<std::ptrdiff_t>(p + 46);
        e.name.assign(nameAt, nameAt + static_cast<std::ptrdiff_t>(nameLen));
        e.size = e.rawSize;
        e.compressedSize = e.rawCompressed;
        e.localOffset = e.rawOffset;
        std::size_t q = p + 46 + nameLen;
        const std::size_t extraEnd = q + extraLen;
        while (q < extraEnd) {
            expect(q + 4 <= extraEnd, "truncated extra field header");
            const std::uint16_t id = le16(cd, q);
            const std::size_t len = le16(cd, q + 2);
            expect(q + 4 + len <= extraEnd, "extra field runs past its header");
            if (id == 1) {
                expect(len % 8 == 0, "ZIP64 extra length is not a multiple of 8");
                e.zip64Fields = static_cast<unsigned>(len / 8);
                std::size_t f = q + 4;
                auto take = [&] {
                    expect(f + 8 <= q + 4 + len, "ZIP64 extra lacks an escaped field");
                    const std::uint64_t v = le64(cd, f);
                    f += 8;
                    return v;
                };
                // APPNOTE 4.5.3: only the escaped fields, in this order.
                if (e.rawSize == kEscape32)
                    e.size = take();
                if (e.rawCompressed == kEscape32)
                    e.compressedSize = take();
                if (e.rawOffset == kEscape32)
                    e.localOffset = take();
                expect(f == q + 4 + len, "ZIP64 extra holds a field that nothing escapes");
            } else {
                e.otherExtras = true;
            }
            q += 4 + len;
        }
        p = extraEnd;

        const Bytes lh = readAt(e.localOffset, 30);
        expect(le32(lh, 0) == 0x04034b50,
               "local header signature at offset " + std::to_string(e.localOffset));
        e.localVersionNeeded = le16(lh, 4);
        e.localFlags = le16(lh, 6);
        e.localMethod = le16(lh, 8);
        e.localTime = le16(lh, 10);
        e.localDate = le16(lh, 12);
        e.localCrc = le32(lh, 14);
        e.localRawCompressed = le32(lh, 18);
        e.localRawSize = le32(lh, 22);
        const std::size_t localNameLen = le16(lh, 26);
        const std::size_t localExtraLen = le16(lh, 28);
        const Bytes rest = readAt(e.localOffset + 30, localNameLen + localExtraLen);
        expect(std::string(rest.begin(),
                           rest.begin() + static_cast<std::ptrdiff_t>(localNameLen)) == e.name,
               "local and central names differ");
        std::size_t r = localNameLen;
        while (r < rest.size()) {
            expect(r + 4 <= rest.size(), "truncated local extra field header");
            const std::uint16_t id = le16(rest, r);
            const std::size_t len = le16(rest, r + 2);
            expect(r + 4 + len <= rest.size(), "local extra field runs past its header");
            if (id == 1) {
                // APPNOTE 4.5.3: the local ZIP64 extra holds both sizes.
                expect(len == 16, "local ZIP64 extra without both sizes");
                e.localZip64 = true;
                e.localZip64Size = le64(rest, r + 4);
                e.localZip64Compressed = le64(rest, r + 12);
            } else {
                e.localOtherExtras = true;
            }
            r += 4 + len;
        }
        e.dataOffset = e.localOffset + 30 + localNameLen + localExtraLen;
        a.entries.push_back(std::move(e));
    }
    expect(p == cd.size(), "central directory has bytes after its last record");
    return a;
}

ReadAt readerOf(const Bytes& archive) {
    return [&archive](std::uint64_t offset, std::uint64_t n) {
        if (offset + n > archive.size())
            throw std::runtime_error("zip parse: read past the end");
        const auto from = archive.begin() + static_cast<std::ptrdiff_t>(offset);
        return Bytes(from, from + static_cast<std::ptrdiff_t>(n));
    };
}

ReadAt readerOf(const SparseArchive& archive) {
    return [&archive](std::uint64_t offset, std::uint64_t n) { return archive.read(offset, n); };
}

template <typename T>
void note(std::string& problems, const char* field, const T& got, const T& want) {
    if (got == want)
        return;
    std::ostringstream s;
    s << field << " is " << got << ", expected " << want << "; ";
    problems += s.str();
}

// What every entry must look like (brief §1.4), from the entry and the reference layout.
std::string entryProblems(const ParsedEntry& p, const ZipEntry& e, const ReferenceLayout& ref,
                          std::size_t i, DosDateTime when) {
    std::string s;
    const bool big = e.size >= kEscape32;
    const unsigned k = ref.zip64Fields[i];
    const unsigned version = k != 0 ? 45U : 20U;
    note(s, "name", p.name, e.name);
    note(s, "size", p.size, e.size);
    note(s, "compressed size", p.compressedSize, e.size);
    note(s, "crc", p.crc, e.crc32);
    note(s, "local offset", p.localOffset, ref.localOffsets[i]);
    note(s, "data offset", p.dataOffset, ref.dataOffsets[i]);
    note(s, "central ZIP64 fields", p.zip64Fields, k);
    note<unsigned>(s, "version needed", p.versionNeeded, version);
    note<unsigned>(s, "version made by", p.madeBy, (3U << 8) | version);
    note<unsigned>(s, "flags", p.flags, 0);
    note<unsigned>(s, "method", p.method, 0);
    note<unsigned>(s, "time", p.time, when.time);
    note<unsigned>(s, "date", p.date, when.date);
    note<unsigned>(s, "internal attributes", p.internalAttr, 0);
    note<std::uint32_t>(s, "external attributes", p.externalAttr, 0100644U << 16);
    note<std::uint32_t>(s, "central 32-bit size", p.rawSize,
                        big ? 0xFFFFFFFF : static_cast<std::uint32_t>(e.size));
    note<std::uint32_t>(s, "central 32-bit offset", p.rawOffset,
                        ref.localOffsets[i] >= kEscape32
                            ? 0xFFFFFFFF
                            : static_cast<std::uint32_t>(ref.localOffsets[i]));
    note(s, "other central extras", p.otherExtras, false);
    note<unsigned>(s, "local version needed", p.localVersionNeeded, version);
    note<unsigned>(s, "local flags", p.localFlags, 0);
    note<unsigned>(s, "local method", p.localMethod, 0);
    note<unsigned>(s, "local time", p.localTime, when.time);
    note<unsigned>(s, "local date", p.localDate, when.date);
    note(s, "local crc", p.localCrc, e.crc32);
    note<std::uint32_t>(s, "local 32-bit size", p.localRawSize,
                        big ? 0xFFFFFFFF : static_cast<std::uint32_t>(e.size));
    note<std::uint32_t>(s, "local 32-bit compressed size", p.localRawCompressed,
                        big ? 0xFFFFFFFF : static_cast<std::uint32_t>(e.size));
    note(s, "local ZIP64 extra", p.localZip64, big);
    if (big) {
        note(s, "local ZIP64 size", p.localZip64Size, e.size);
        note(s, "local ZIP64 compressed size", p.localZip64Compressed, e.size);
    }
    note(s, "other local extras", p.localOtherExtras, false);
    return s.empty() ? s : "entry " + std::to_string(i) + ": " + s;
}

void checkArchive(const ParsedArchive& a, const std::vector<ZipEntry>& entries,
                  const ReferenceLayout& ref, DosDateTime when) {
    const std::uint64_t n = entries.size();
    CHECK(a.zip64End == ref.zip64End);
    CHECK(a.count == n);
    CHECK(a.centralOffset == ref.centralOffset);
    CHECK(a.centralBytes == ref.centralBytes);
    CHECK(a.endCount == std::min(n, kEscape16));
    CHECK(a.endCentralOffset == std::min(ref.centralOffset, kEscape32));
    CHECK(a.endCentralBytes == std::min(ref.centralBytes, kEscape32));
    if (a.zip64End) {
        CHECK(a.zip64MadeBy == ((3U << 8) | 45U));
        CHECK(a.zip64Needed == 45U);
    }
    REQUIRE(a.entries.size() == n);
    std::string problems;
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::string s = entryProblems(a.entries[i], entries[i], ref, i, when);
        if (s.empty())
            continue;
        if (++bad <= 3)
            problems += s + "\n";
    }
    INFO(problems);
    CHECK(bad == 0U);
}

// ---------------------------------------------------------------- external readers

struct CommandResult {
    int status = -1;
    std::string out;
};

struct PipeClose {
    void operator()(FILE* f) const noexcept { ::pclose(f); }
};

// Runs a shell command; stdout is captured, stderr goes to the test's stderr.
// Quoted arguments here are temp paths and entry names without quotes.
CommandResult runCommand(const std::string& command) {
    std::unique_ptr<FILE, PipeClose> pipe(::popen(command.c_str(), "r"));
    if (!pipe)
        throw std::runtime_error("popen failed: " + command);
    CommandResult r;
    std::array<char, 65536> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe.get())) > 0)
        r.out.append(buf.data(), n);
    const int status = ::pclose(pipe.release());
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string quoted(const std::string& s) {
    return "'" + s + "'";
}

// Python's zipfile: prints one line per entry; "test" runs testzip() first, "read-small"
// reads (and so CRC-checks) every entry below 1 MiB, "ends" reads nothing and prints
// only the first and the last entry (Python needs seconds for 65535 lines).
constexpr const char* kPythonCheck = R"(import sys, zipfile
mode, path = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(path)
if mode == "test":
    bad = z.testzip()
    assert bad is None, bad
if mode == "read-small":
    for i in z.infolist():
        if i.file_size < (1 << 20):
            z.read(i)
infos = z.infolist()
if mode == "ends":
    infos = [infos[0], infos[-1]]
for i in infos:
    print(i.filename, i.file_size, i.compress_size, i.header_offset, i.CRC, i.compress_type, i.flag_bits,
          i.create_system, i.create_version, i.extract_version, oct(i.external_attr >> 16),
          "%04d-%02d-%02dT%02d:%02d:%02d" % i.date_time, sep="\t")
)";

std::string pythonLine(const ZipEntry& e, const ReferenceLayout& ref, std::size_t i,
                       const std::string& dateTime) {
    const unsigned version = ref.zip64Fields[i] != 0 ? 45U : 20U;
    std::ostringstream s;
    s << e.name << '\t' << e.size << '\t' << e.size << '\t' << ref.localOffsets[i] << '\t'
      << e.crc32 << "\t0\t0\t3\t" << version << '\t' << version << "\t0o100644\t" << dateTime
      << '\n';
    return s.str();
}

// Checks the archive at `path` with Python; returns the printed listing.
std::string pythonListing(const TempDir& dir, const std::string& mode, const std::string& path) {
    const auto script = dir / "check.py";
    std::ofstream(script) << kPythonCheck;
    const CommandResult r =
        runCommand("/usr/bin/python3 " + quoted(script.string()) + " " + mode + " " + quoted(path));
    INFO("python3 zipfile " << mode << " on " << path);
    CHECK(r.status == 0);
    return r.out;
}

std::string expectedListing(const std::vector<ZipEntry>& entries, const ReferenceLayout& ref,
                            const std::string& dateTime) {
    std::string s;
    for (std::size_t i = 0; i < entries.size(); ++i)
        s += pythonLine(entries[i], ref, i, dateTime);
    return s;
}

void writeFile(const std::filesystem::path& path, const Bytes& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    REQUIRE(f.good());
}

// A sparse file: the stored segments, holes (zeros) elsewhere.
void writeSparseFile(const std::filesystem::path& path, const SparseArchive& archive) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    bool ok = true;
    for (const auto& [offset, bytes] : archive.segments())
        ok = ok && ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
                       static_cast<ssize_t>(bytes.size());
    ok = ok && ::ftruncate(fd, static_cast<off_t>(archive.total)) == 0;
    ::close(fd);
    REQUIRE(ok);
}

const DosDateTime kWhen = DosDateTime::fromUnix(1715949044);  // 2024-05-17T12:30:44Z
const std::string kWhenText = "2024-05-17T12:30:44";

std::vector<TestEntry> studyEntries() {
    return {entry("DICOMDIR", 300), entry("README.TXT", 12),
            entry("DICOM/P0000001/S0000001/S0000001/I0000001", 1000),
            entry("DICOM/P0000001/S0000001/S0000001/I0000002", 0),
            entry("DICOM/P0000001/S0000001/S0000001/I0000003", 200 * 1024 + 3)};
}

}  // namespace

// ================================================================ real readers

TEST_CASE("a small study passes unzip -t and Python's testzip and gives back its bytes") {
    const std::vector<TestEntry> entries = studyEntries();
    const auto zipped = zipEntries(entries);
    ZipStream zip(zipped, opener(entries, 4096), kWhen);
    const Bytes archive = drain(zip, 64 * 1024);
    const ReferenceLayout ref = referenceLayout(zipped);
    CHECK(archive.size() == ref.total);
    checkArchive(parseArchive(readerOf(archive), archive.size()), zipped, ref, kWhen);

    TempDir dir("sealport-zip-test");
    const std::string path = (dir / "study.zip").string();
    writeFile(path, archive);

    const CommandResult unzipTest = runCommand("/usr/bin/unzip -tq " + quoted(path));
    INFO(unzipTest.out);
    CHECK(unzipTest.status == 0);
    CHECK(pythonListing(dir, "test", path) == expectedListing(zipped, ref, kWhenText));
    for (const TestEntry& e : entries) {
        const CommandResult content =
            runCommand("/usr/bin/unzip -p " + quoted(path) + " " + quoted(e.name));
        INFO(e.name);
        CHECK(content.status == 0);
        CHECK(content.out == std::string(e.data.begin(), e.data.end()));
    }
    // zipinfo shows Unix permissions, so Info-ZIP extracts mode 0644.
    const CommandResult info = runCommand("/usr/bin/zipinfo " + quoted(path) + " README.TXT");
    CHECK(info.status == 0);
    CHECK(info.out.rfind("-rw-r--r--", 0) == 0);
}

// ================================================================ length formula

TEST_CASE("the planned length equals the bytes produced for every shape and chunk size") {
    struct Shape {
        const char* label;
        std::vector<TestEntry> entries;
    };
    std::vector<TestEntry> many;
    for (int i = 0; i < 300; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "DICOM/P0000001/I%07d", i);
        many.push_back(entry(name, static_cast<std::uint64_t>(i % 5)));
    }
    const Shape shape = GENERATE_COPY(values<Shape>({
        {"no entries", {}},
        {"one empty entry", {entry("EMPTY", 0)}},
        {"names of 1 to 65535 bytes",
         {entry("a", 3), entry(std::string(100, 'b'), 0),
          entry("dir/" + std::string(1000, 'c'), 17), entry(std::string(65535, 'd'), 5)}},
        {"a study", studyEntries()},
        {"300 small entries", many},
    }));
    const std::size_t chunk = GENERATE(as<std::size_t>{}, 1, 7, 64 * 1024);
    const std::size_t sourceChunk = GENERATE(as<std::size_t>{}, 1, 4096);
    INFO(shape.label << ", next() chunk " << chunk << ", source chunk " << sourceChunk);

    const auto zipped = zipEntries(shape.entries);
    const ReferenceLayout ref = referenceLayout(zipped);
    CHECK(zipLength(zipped) == ref.total);
    ZipStream zip(zipped, opener(shape.entries, sourceChunk), kWhen);
    CHECK(zip.size() == ref.total);
    CHECK(zip.produced() == 0U);
    const Bytes archive = drain(zip, chunk);
    CHECK(archive.size() == ref.total);
    checkArchive(parseArchive(readerOf(archive), archive.size()), zipped, ref, kWhen);
    for (std::size_t i = 0; i < shape.entries.size(); ++i) {
        const auto at = archive.begin() + static_cast<std::ptrdiff_t>(ref.dataOffsets[i]);
        CHECK(Bytes(at, at + static_cast<std::ptrdiff_t>(shape.entries[i].size)) ==
              shape.entries[i].data);
    }

    // The chunking does not change a byte.
    ZipStream whole(zipped, opener(shape.entries), kWhen);
    CHECK(drain(whole, 1 << 20) == archive);
}

TEST_CASE("an empty archive is one end record that Python reads") {
    ZipStream zip({}, nullptr, kWhen);
    const Bytes archive = drain(zip, 100);
    const Bytes expected = {0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0,
                            0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0};
    CHECK(archive == expected);
    TempDir dir("sealport-zip-test");
    const std::string path = (dir / "empty.zip").string();
    writeFile(path, archive);
    CHECK(pythonListing(dir, "test", path).empty());
}

// ================================================================ ZIP64 boundaries

TEST_CASE("ZIP64 records appear exactly from the escape values on") {
    struct Boundary {
        const char* label;
        std::vector<std::pair<std::string, std::uint64_t>> entries;  // name, size
        std::vector<unsigned> zip64Fields;                           // expected per central header
        bool zip64End;
        // Info-ZIP unzip 6.0 keeps the previous entry's sizes when it reads a central
        // ZIP64 extra (getZip64Data() tests the stale G.lrec.ucsize against 0xFFFFFFFF):
        // after an entry of exactly 0xFFFFFFFF bytes it takes the next offset-only extra
        // for a size and calls it corrupt. Python and the parser here read such archives.
        bool infoZipReadsAll = true;
    };
    const Boundary c = GENERATE(values<Boundary>({
        {"an entry of 0xFFFFFFFE bytes keeps 32-bit sizes", {{"BIG", 0xFFFFFFFE}}, {0}, true},
        {"an entry of 0xFFFFFFFF bytes has both sizes in ZIP64 extras",
         {{"BIG", 0xFFFFFFFF}},
         {2},
         true},
        {"a local header at 0xFFFFFFFE keeps its 32-bit offset",
         {{"a", 0xFFFFFFDF}, {"b", 5}},
         {0, 0},
         true},
        {"a local header at 0xFFFFFFFF has its offset in a ZIP64 extra",
         {{"a", 0xFFFFFFE0}, {"b", 5}},
         {0, 1},
         true},
        {"a central directory at 0xFFFFFFFE needs no ZIP64 end record",
         {{"a", 0xFFFFFFDF}},
         {0},
         false},
        {"a central directory at 0xFFFFFFFF needs a ZIP64 end record",
         {{"a", 0xFFFFFFE0}},
         {0},
         true},
        {"a study past 4 GiB",
         {{"DICOMDIR", 300},
          {"README.TXT", 12},
          {"DICOM/BIG", 0x100000000 + 12345},
          {"DICOM/AFTER", 5}},
         {0, 0, 2, 1},
         true},
        {"a big entry past 4 GiB has sizes and offset in its ZIP64 extra",
         {{"A", 0x100000000}, {"B", 0x100000001}, {"C", 1}},
         {2, 3, 1},
         true},
        {"an entry of exactly 0xFFFFFFFF bytes before one past 4 GiB",
         {{"A", 0xFFFFFFFF}, {"B", 5}},
         {2, 1},
         true,
         false},
    }));
    INFO(c.label);
    std::vector<TestEntry> entries;
    for (const auto& [name, size] : c.entries)
        entries.push_back(entry(name, size));
    const auto zipped = zipEntries(entries);
    const ReferenceLayout ref = referenceLayout(zipped);
    // The hand-written expectations keep the reference layout honest.
    CHECK(ref.zip64Fields == c.zip64Fields);
    CHECK(ref.zip64End == c.zip64End);
    CHECK(zipLength(zipped) == ref.total);

    ZipStream zip(zipped, opener(entries), kWhen);
    const SparseArchive archive = drainSparse(zip, entries, ref);
    REQUIRE(archive.total == ref.total);
    const ParsedArchive parsed = parseArchive(readerOf(archive), archive.total);
    checkArchive(parsed, zipped, ref, kWhen);

    // Python reads the sizes and offsets from the sparse file, and reads (with a CRC
    // check) the small entries, including those past 4 GiB; unzip tests them too.
    TempDir dir("sealport-zip-test");
    const std::string path = (dir / "sparse.zip").string();
    writeSparseFile(path, archive);
    CHECK(pythonListing(dir, "read-small", path) == expectedListing(zipped, ref, kWhenText));
    if (!c.infoZipReadsAll)
        return;
    for (const TestEntry& e : entries) {
        if (e.unwritten())
            continue;
        const CommandResult r =
            runCommand("/usr/bin/unzip -tq " + quoted(path) + " " + quoted(e.name));
        INFO(e.name << ": " << r.out);
        CHECK(r.status == 0);
    }
    const CommandResult names = runCommand("/usr/bin/zipinfo -1 " + quoted(path));
    CHECK(names.status == 0);
    std::string expectedNames;
    for (const auto& e : entries)
        expectedNames += e.name + "\n";
    CHECK(names.out == expectedNames);
}

TEST_CASE("65535 entries need the ZIP64 end record and 65534 do not") {
    const std::size_t count = GENERATE(as<std::size_t>{}, 65534, 65535, 65536);
    INFO(count << " entries");
    std::vector<TestEntry> entries;
    entries.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "E/%05zu", i);
        entries.push_back(TestEntry{name, 1, Bytes{static_cast<std::uint8_t>('a' + i % 26)}});
    }
    const auto zipped = zipEntries(entries);
    const ReferenceLayout ref = referenceLayout(zipped);
    CHECK(ref.zip64End == (count >= 65535));
    ZipStream zip(zipped, opener(entries), kWhen);
    const Bytes archive = drain(zip, 256 * 1024);
    const ParsedArchive parsed = parseArchive(readerOf(archive), archive.size());
    checkArchive(parsed, zipped, ref, kWhen);
    CHECK(parsed.zip64End == (count >= 65535));
    CHECK(parsed.endCount == static_cast<std::uint16_t>(count >= 65535 ? 0xFFFF : count));

    TempDir dir("sealport-zip-test");
    const std::string path = (dir / "many.zip").string();
    writeFile(path, archive);
    const CommandResult r = runCommand("/usr/bin/unzip -tq " + quoted(path));
    INFO(r.out);
    CHECK(r.status == 0);
    CHECK(pythonListing(dir, "ends", path) ==
          pythonLine(zipped.front(), ref, 0, kWhenText) +
              pythonLine(zipped.back(), ref, count - 1, kWhenText));
}

// ================================================================ failures

namespace {

// A source that keeps a count of live sources and where the stream stood when it opened.
struct OpenRecord {
    std::size_t index;
    std::uint64_t producedAtOpen;
    int liveAtOpen;
};

class CountedSource : public MemorySource {
  public:
    CountedSource(std::span<const std::uint8_t> data, int& live)
        : MemorySource(data, 3), live_(live) {
        ++live_;
    }
    ~CountedSource() override { --live_; }
    CountedSource(const CountedSource&) = delete;
    CountedSource& operator=(const CountedSource&) = delete;

  private:
    int& live_;
};

class OverclaimingSource : public EntrySource {
  public:
    std::size_t read(std::span<std::uint8_t> out) override { return out.size() + 1; }
};

class FailingSource : public EntrySource {
  public:
    std::size_t read(std::span<std::uint8_t>) override {
        throw std::runtime_error("blob chunk failed to verify");
    }
};

// Pulls until the stream throws.
void pullUntilThrow(ZipStream& zip) {
    Bytes buf(1000);
    for (;;)
        if (zip.next(buf) == 0)
            FAIL("the stream completed");
}

// One more pull after a failure.
void pullOnce(ZipStream& zip) {
    Bytes buf(10);
    static_cast<void>(zip.next(buf));
}

}  // namespace

TEST_CASE("each source is opened when its data starts and closed before the next header") {
    const std::vector<TestEntry> entries = {entry("a", 5), entry("b", 0), entry("c", 70000)};
    const auto zipped = zipEntries(entries);
    const ReferenceLayout ref = referenceLayout(zipped);
    std::vector<OpenRecord> opened;
    int live = 0;
    ZipStream* self = nullptr;
    ZipStream zip(
        zipped,
        [&](std::size_t i) -> std::unique_ptr<EntrySource> {
            opened.push_back({i, self->produced(), live});
            return std::make_unique<CountedSource>(entries.at(i).data, live);
        },
        kWhen);
    self = &zip;
    Bytes buf(7);
    int maxLive = 0;
    while (zip.next(buf) != 0)
        maxLive = std::max(maxLive, live);
    CHECK(maxLive == 1);
    CHECK(live == 0);
    REQUIRE(opened.size() == 3U);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(opened[i].index == i);
        CHECK(opened[i].producedAtOpen == ref.dataOffsets[i]);
        CHECK(opened[i].liveAtOpen == 0);
    }
}

TEST_CASE("a source that ends before its size stops the archive") {
    std::vector<TestEntry> entries = {entry("a", 10), entry("b", 4)};
    auto zipped = zipEntries(entries);
    zipped[0].size = 11;  // announced one byte more than the source has
    ZipStream zip(zipped, opener(entries), kWhen);
    CHECK_THROWS_AS(pullUntilThrow(zip), ZipError);
    CHECK(zip.produced() == 30U + 1U + 10U);   // the header and the ten bytes, nothing padded
    CHECK_THROWS_AS(pullOnce(zip), ZipError);  // and it stays failed
}

TEST_CASE("a source with bytes beyond its size stops the archive") {
    const std::uint64_t announced = GENERATE(as<std::uint64_t>{}, 0, 9);
    INFO("announced " << announced << " of 10 bytes");
    std::vector<TestEntry> entries = {entry("a", 10), entry("b", 4)};
    auto zipped = zipEntries(entries);
    zipped[0].size = announced;
    ZipStream zip(zipped, opener(entries), kWhen);
    CHECK_THROWS_AS(pullUntilThrow(zip), ZipError);
    CHECK(zip.produced() == 30U + 1U + announced);  // nothing truncated into the next header
    CHECK_THROWS_AS(pullOnce(zip), ZipError);
}

TEST_CASE("a source that claims more than it was asked for stops the archive") {
    ZipStream zip({ZipEntry{"a", 100, 0}},
                  [](std::size_t) { return std::make_unique<OverclaimingSource>(); });
    CHECK_THROWS_AS(pullUntilThrow(zip), ZipError);
}

TEST_CASE("an entry without a source stops the archive") {
    ZipStream zip({ZipEntry{"a", 1, 0}},
                  [](std::size_t) { return std::unique_ptr<EntrySource>(); });
    CHECK_THROWS_AS(pullUntilThrow(zip), ZipError);
}

TEST_CASE("a failing source's error reaches the caller and the stream stays failed") {
    ZipStream zip({ZipEntry{"a", 1, 0}},
                  [](std::size_t) { return std::make_unique<FailingSource>(); });
    CHECK_THROWS_WITH(pullUntilThrow(zip), "blob chunk failed to verify");
    CHECK_THROWS_AS(pullOnce(zip), ZipError);
}

TEST_CASE("names an extractor could misplace are refused before any byte") {
    const std::string name = GENERATE(values<std::string>({
        "",
        "/DICOMDIR",
        "DICOM/../DICOMDIR",
        "..",
        "../x",
        "x/..",
        ".",
        "./x",
        "a//b",
        "DICOM/",
        "a\\b",
        "C:/x",
        "a:b",
        std::string("a\0b", 3),
        "a\x01",
        "tab\there",
        "del\x7f",
        "caf\xc3\xa9",
        "\xff",
        std::string(65536, 'n'),
    }));
    INFO("name of " << name.size() << " bytes");
    const std::vector<ZipEntry> entries = {ZipEntry{"README.TXT", 0, 0}, ZipEntry{name, 0, 0}};
    CHECK_THROWS_AS(zipLength(entries), ZipError);
    CHECK_THROWS_AS(
        (ZipStream(entries, [](std::size_t) { return std::unique_ptr<EntrySource>(); })), ZipError);
}

TEST_CASE("the longest name is accepted and duplicate names are refused") {
    CHECK(zipLength(std::vector<ZipEntry>{{std::string(65535, 'n'), 0, 0}}) ==
          22U + 2 * 65535U + 30U + 46U);
    CHECK(zipLength(std::vector<ZipEntry>{{"a b-c_d.e/F~(1)", 0, 0}}) > 0U);
    CHECK_THROWS_AS(zipLength(std::vector<ZipEntry>{{"DICOMDIR", 1, 0}, {"DICOMDIR", 1, 0}}),
                    ZipError);
}

TEST_CASE("an archive whose length overflows 64 bits is refused") {
    const std::uint64_t half = std::uint64_t{1} << 63;
    CHECK_THROWS_AS(zipLength(std::vector<ZipEntry>{{"a", half, 0}, {"b", half, 0}}), ZipError);
}

TEST_CASE("next() refuses an empty buffer and a stream needs an opener") {
    ZipStream zip({ZipEntry{"a", 0, 0}},
                  [](std::size_t) { return std::unique_ptr<EntrySource>(); });
    CHECK_THROWS_AS(zip.next({}), std::invalid_argument);
    CHECK_THROWS_AS((ZipStream({ZipEntry{"a", 0, 0}}, nullptr)), std::invalid_argument);
}

// ================================================================ DOS time

TEST_CASE("Unix seconds become DOS date and time in UTC, clamped to 1980..2107") {
    struct Conversion {
        std::int64_t seconds;
        std::uint16_t date;
        std::uint16_t time;
    };
    constexpr auto dosDate = [](int y, int m, int d) {
        return static_cast<std::uint16_t>(((y - 1980) << 9) | (m << 5) | d);
    };
    constexpr auto dosTime = [](int h, int m, int s) {
        return static_cast<std::uint16_t>((h << 11) | (m << 5) | (s / 2));
    };
    const Conversion c = GENERATE_COPY(values<Conversion>({
        {std::numeric_limits<std::int64_t>::min(), dosDate(1980, 1, 1), 0},
        {-1, dosDate(1980, 1, 1), 0},
        {0, dosDate(1980, 1, 1), 0},
        {315532799, dosDate(1980, 1, 1), 0},
        {315532800, dosDate(1980, 1, 1), 0},  // 1980-01-01T00:00:00Z
        {315532801, dosDate(1980, 1, 1), 0},  // odd seconds round down
        {315532802, dosDate(1980, 1, 1), 1},
        {951868800, dosDate(2000, 3, 1), 0},
        {1709251199, dosDate(2024, 2, 29), dosTime(23, 59, 59)},
        {1715949044, dosDate(2024, 5, 17), dosTime(12, 30, 44)},
        {1715949045, dosDate(2024, 5, 17), dosTime(12, 30, 44)},
        {4354819199, dosDate(2107, 12, 31), dosTime(23, 59, 58)},  // the last DOS second
        {4354819200, dosDate(2107, 12, 31), dosTime(23, 59, 58)},
        {std::numeric_limits<std::int64_t>::max(), dosDate(2107, 12, 31), dosTime(23, 59, 58)},
    }));
    INFO("unix seconds " << c.seconds);
    const DosDateTime d = DosDateTime::fromUnix(c.seconds);
    CHECK(d.date == c.date);
    CHECK(d.time == c.time);
    CHECK(dosDate(2107, 12, 31) == 0xFF9FU);
    const DosDateTime unset;
    CHECK(unset.date == dosDate(1980, 1, 1));
    CHECK(unset.time == 0U);
}

TEST_CASE("the reference CRC of zeros agrees with the table CRC") {
    for (const std::size_t n : {0UL, 1UL, 7UL, 4096UL, 100000UL}) {
        INFO(n << " zero bytes");
        CHECK(crc32OfZeros(n) == crc32Of(Bytes(n)));
    }
    const Bytes check = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    CHECK(crc32Of(check) == 0xCBF43926U);  // the CRC-32/ISO-HDLC check value
}
