#pragma once

// Internal: transfer syntaxes, codecs and serialisation through DCMTK.

#include <cstdint>
#include <string>
#include <vector>

#include "sealport/synthstudy/spec.hpp"

class DcmFileFormat;

namespace sealport::synthstudy {

// DCMTK's JPEG, JPEG-LS and RLE encoders, registered for the lifetime of
// this object (DCMTK keeps them in a global list). SOP Instance UIDs are
// never replaced on lossy compression: the manifest must stay true.
class CodecRegistration {
  public:
    CodecRegistration();
    ~CodecRegistration();
    CodecRegistration(const CodecRegistration&) = delete;
    CodecRegistration& operator=(const CodecRegistration&) = delete;
};

std::string transferSyntaxUid(TransferSyntax ts);
[[nodiscard]] bool isEncapsulated(TransferSyntax ts);

// Compresses the pixel data as `ts` asks and returns the complete Part 10
// file: preamble, meta header, dataset. Throws std::runtime_error.
std::vector<std::uint8_t> encodeFile(DcmFileFormat& file, TransferSyntax ts);

}  // namespace sealport::synthstudy
