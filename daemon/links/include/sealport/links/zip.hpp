#pragma once

// A ZIP archive produced as it is sent: stored entries (no compression), the
// real CRC-32 and sizes in every local header (no data descriptor), ZIP64
// records only where a field overflows. Its exact length is known before the
// first byte from the entries' names and sizes alone, so a download can carry
// Content-Length; memory stays flat whatever the entries' sizes.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace sealport::links {

struct ZipEntry {
    // Printable ASCII path with '/' separators, 1..65535 bytes: no leading or trailing
    // '/', no empty, "." or ".." component, no '\\' or ':', unique in the archive.
    std::string name;
    std::uint64_t size = 0;  // exact number of bytes its source will give
    std::uint32_t crc32 = 0;  // CRC-32 (ISO-HDLC, as zlib's crc32()) of those bytes
};

// Where an entry's bytes come from; opened when the stream reaches the entry.
class EntrySource {
public:
    virtual ~EntrySource() = default;
    // Fills up to out.size() bytes; returns 0 only at the end. Throws on failure.
    virtual std::size_t read(std::span<std::uint8_t> out) = 0;
};
using OpenEntry = std::function<std::unique_ptr<EntrySource>(std::size_t index)>;

// A source gave more or fewer bytes than its entry announced, or an entry is
// invalid. The archive cannot be completed: the connection must be aborted.
class ZipError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// MS-DOS date and time stored in every header (local time, 1980..2107).
struct DosDateTime {
    std::uint16_t date = (1 << 5) | 1;  // 1980-01-01
    std::uint16_t time = 0;
    // From seconds since the Unix epoch, as UTC (the appliance's clock runs in UTC).
    static DosDateTime fromUnix(std::int64_t seconds);
};

// The exact length of the archive for these entries. Throws ZipError for an invalid
// entry (or a total that does not fit in 64 bits).
std::uint64_t zipLength(std::span<const ZipEntry> entries);

// Pull-style producer. Entry i's source is opened through `open(i)` when its data
// starts and destroyed when it has given exactly entries[i].size bytes; at most one
// source is alive. Memory: the entry list and a few small buffers, whatever the
// sizes; the central directory is generated again from the entry list.
class ZipStream {
public:
    // Throws ZipError for an invalid entry, std::invalid_argument without `open`.
    ZipStream(std::vector<ZipEntry> entries, OpenEntry open, DosDateTime when = {});
    ~ZipStream();
    ZipStream(const ZipStream&) = delete;
    ZipStream& operator=(const ZipStream&) = delete;

    [[nodiscard]] std::uint64_t size() const noexcept;
    // Bytes written by next() so far (after a throw, including the failed call's).
    [[nodiscard]] std::uint64_t produced() const noexcept;
    // Writes the next bytes of the archive into `out` (fills it unless the archive
    // ends first; at least 1 unless the archive is complete); 0 once all size()
    // bytes are out. `out` must not be empty (std::invalid_argument).
    // Throws ZipError (or what a source or `open` throws) when it cannot go on;
    // after that every call throws ZipError: the bytes already given are a broken
    // archive and the connection must be aborted.
    std::size_t next(std::span<std::uint8_t> out);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sealport::links
