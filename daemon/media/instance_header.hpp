#pragma once

// Reading the header of one stored instance straight from its encrypted blob,
// for the DICOMDIR records. Private to sealport_media.

#include <cstddef>
#include <memory>
#include <string>

class DcmFileFormat;

namespace sealport::state {
class BlobStore;
}

namespace sealport::media::detail {

// Values longer than this are decrypted and skipped while parsing, not kept:
// no directory record key is that long, an encapsulated document or a
// private blob easily is.
inline constexpr unsigned kMaxKeptValueBytes = 64U * 1024U;

// The File Meta group and the dataset up to the first top-level element at or
// after (4000,0000): every directory record key lies below it, while
// functional groups, curves, overlays and Pixel Data lie above and are never
// decrypted. `keptLimit` caps the bytes kept in memory (tags, lengths and
// values up to kMaxKeptValueBytes). `what` names the file in errors (a file ID
// and blob id: no patient data). Throws FileSetError.
std::unique_ptr<DcmFileFormat> readInstanceHeader(const state::BlobStore& blobs,
                                                  const std::string& blobId,
                                                  const std::string& what, std::size_t keptLimit);

}  // namespace sealport::media::detail
