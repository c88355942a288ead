#pragma once

// The project's own walk over the encoded structure of a Part 10 object,
// independent of DCMTK: it finds where the File Meta group ends (the dataset
// bytes that datasetSha256 covers) and checks that the dataset's elements,
// items and sequences nest and end where their lengths say, before DCMTK's
// recursive parser sees them.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "sealport/ingest/instance.hpp"

namespace sealport::ingest::detail {

inline constexpr std::size_t kPreambleSize = 128;
inline constexpr std::size_t kMetaStart = kPreambleSize + 4;  // after "DICM"

struct FileMeta {
    std::size_t end = 0;  // offset of the first byte after the File Meta group
    std::optional<std::uint32_t> groupLength;  // (0002,0000), when present
    bool groupLengthAgrees = false;            // it points exactly at `end`
    // UI values with their padding (trailing NUL/space) removed; nullopt when absent.
    std::optional<std::string> mediaStorageSopClassUid;     // (0002,0002)
    std::optional<std::string> mediaStorageSopInstanceUid;  // (0002,0003)
    std::optional<std::string> transferSyntaxUid;           // (0002,0010)
};

// Walks the group-0002 elements (Explicit VR Little Endian) after "DICM". The
// group length is cross-checked but never trusted: the walk decides the end.
// Expects the caller to have checked the preamble and "DICM".
std::variant<FileMeta, Rejection> scanFileMeta(std::span<const std::uint8_t> part10);

struct DatasetEncoding {
    bool explicitVr = true;
    bool bigEndian = false;
    bool deflated = false;  // raw deflate (RFC 1951) around the whole dataset
};

struct DatasetLimits {
    std::size_t maxDepth = kMaxSequenceDepth;     // nested items
    std::size_t maxElements = kMaxDataElements;   // elements, items, fragments, delimiters
    std::uint64_t maxInflatedBytes = 0;           // deflated datasets only
};

// The bytes of a top-level element exactly as encoded. DCMTK "corrects"
// some values while reading (it drops spaces inside UIDs, for one), so values
// that are checked rather than displayed are taken from here.
struct RawElement {
    std::string vr;            // as encoded; empty in Implicit VR
    std::string bytes;         // the value, cut at the capture limit
    std::uint32_t length = 0;  // the value's encoded length
    bool container = false;    // SQ or undefined length: no value of its own
};

struct DatasetScan {
    std::map<std::uint32_t, RawElement> captured;  // by tag, for the tags asked for
};

// Checks the dataset's structure: every element, item and sequence complete
// and nested within its parent, or why not. Values DCMTK could read as a
// sequence (SQ, UN, any value in Implicit VR that starts with an item tag) are
// walked into, so the depth bound also bounds DCMTK's recursion. Top-level
// tags must not repeat. The top-level elements named in `capture` are kept
// (at most `captureMax` bytes of each).
std::variant<DatasetScan, Rejection> scanDataset(std::span<const std::uint8_t> dataset,
                                                 const DatasetEncoding& encoding,
                                                 const DatasetLimits& limits,
                                                 std::span<const std::uint32_t> capture = {},
                                                 std::size_t captureMax = 0);

// "(gggg,eeee)" in uppercase hex.
std::string formatTag(std::uint32_t tag);

}  // namespace sealport::ingest::detail
