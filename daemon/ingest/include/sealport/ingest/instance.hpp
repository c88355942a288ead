#pragma once

// Parsing and catalogue extraction of one DICOM Part 10 object held in memory:
// what the C-STORE SCP and `sealportctl import` run on every object before it
// is encrypted and stored. The object itself is stored byte-exact whatever
// happens here; this only decides whether it is accepted and what the
// catalogue says about it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "sealport/core/crypto.hpp"
#include "sealport/state/catalogue.hpp"

namespace sealport::ingest {

// Everything the catalogue stores about one instance. Text is valid UTF-8
// without control characters, trimmed of DICOM padding, at most kMaxTextBytes.
struct InstanceFields : state::InstanceMetadata {
    std::uint64_t size = 0;  // bytes of the whole Part 10 object
    // SHA-256 of the whole Part 10 object, exactly as given.
    core::Sha256Digest sha256{};
    // SHA-256 of the bytes after the File Meta group (the dataset, as encoded):
    // tells a re-send of the same object from a conflicting one with the same
    // SOP Instance UID, whoever wrote the meta header.
    core::Sha256Digest datasetSha256{};
};

enum class RejectReason {
    not_dicom,    // no "DICM" after the 128-byte preamble
    truncated,    // the input ends inside an element, an item or a sequence
    malformed,    // does not parse, or parses into something inconsistent
    missing_uid,  // a required UID (meta or dataset) is absent or empty
    invalid_uid,  // a required UID is not a syntactically valid UID
    too_large,    // over the size limit, or past the structural limits below
    unsupported,  // a transfer syntax this build cannot read
    is_dicomdir,  // a Media Storage Directory, not an instance
};

// `detail` is safe to show an operator: tags, sizes and limits, never values
// that could hold patient data.
struct Rejection {
    RejectReason reason;
    std::string detail;
};

// Structural limits applied before DCMTK sees the dataset. DCMTK parses
// sequences recursively and allocates an object per element, so both are
// bounded to keep a small hostile object from exhausting the stack or memory.
inline constexpr std::size_t kMaxSequenceDepth = 128;
inline constexpr std::size_t kMaxDataElements = 2'000'000;
inline constexpr std::size_t kMaxTextBytes = 1024;

// Parses one Part 10 object (preamble, "DICM", File Meta group, dataset in the
// transfer syntax named by (0002,0010)). Objects larger than `maxBytes`, and
// deflated datasets that inflate to more than `maxBytes`, are refused before
// parsing. `objectDigest`, when given, is the SHA-256 of `part10` taken while
// it arrived (the C-STORE SCP hashes the bytes as they come in) and saves a
// pass; the data set's digest is always computed here. Nothing is written to disk and nothing is decompressed except a
// deflated dataset's stream. Thread-safe; does not throw on bad input.
std::variant<InstanceFields, Rejection> parseInstance(std::span<const std::uint8_t> part10,
                                                      std::size_t maxBytes,
                                                      const core::Sha256Digest* objectDigest = nullptr);

std::string_view toString(RejectReason reason) noexcept;

// DICOM UID syntax (PS3.5 9.1): 1-64 characters, digits and dots, no empty
// component, no leading zero in a component other than "0" itself.
bool isValidUid(std::string_view uid) noexcept;

}  // namespace sealport::ingest
