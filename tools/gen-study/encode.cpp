#include "encode.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcostrma.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcrlerp.h>
#include <dcmtk/dcmdata/dcwcache.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpeg/djrploss.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>
// Registers colour support with DicomImage, which the lossy JPEG encoders use.
#include <dcmtk/dcmimage/diregist.h>
#include <dcmtk/oflog/oflog.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "sealport/synthstudy/jpeg2000.hpp"

namespace sealport::synthstudy {
namespace {

E_TransferSyntax dcmtkSyntax(TransferSyntax ts) {
    switch (ts) {
        case TransferSyntax::Implicit:
            return EXS_LittleEndianImplicit;
        case TransferSyntax::Explicit:
            return EXS_LittleEndianExplicit;
        case TransferSyntax::Deflated:
            return EXS_DeflatedLittleEndianExplicit;
        case TransferSyntax::JpegBaseline:
            return EXS_JPEGProcess1;
        case TransferSyntax::JpegExtended:
            return EXS_JPEGProcess2_4;
        case TransferSyntax::JpegLossless:
            return EXS_JPEGProcess14SV1;
        case TransferSyntax::JpegLs:
            return EXS_JPEGLSLossy;
        case TransferSyntax::JpegLsLossless:
            return EXS_JPEGLSLossless;
        case TransferSyntax::Jpeg2000:
            return EXS_JPEG2000;
        case TransferSyntax::Jpeg2000Lossless:
            return EXS_JPEG2000LosslessOnly;
        case TransferSyntax::Rle:
            return EXS_RLELossless;
    }
    return EXS_LittleEndianExplicit;
}

// DCMTK writes the Part 10 file into memory: the manifest's size and
// SHA-256 are then those of the exact bytes that reach the disk.
class VectorConsumer final : public DcmConsumer {
  public:
    explicit VectorConsumer(std::vector<std::uint8_t>& out) : out_(out) {}
    OFBool good() const override { return OFTrue; }
    OFCondition status() const override { return EC_Normal; }
    OFBool isFlushed() const override { return OFTrue; }
    offile_off_t avail() const override { return offile_off_t{1} << 30; }
    offile_off_t write(const void* buf, offile_off_t buflen) override {
        const auto* bytes = static_cast<const std::uint8_t*>(buf);
        out_.insert(out_.end(), bytes, bytes + buflen);
        return buflen;
    }
    void flush() override {}

  private:
    std::vector<std::uint8_t>& out_;
};

class VectorOutputStream final : public DcmOutputStream {
  public:
    explicit VectorOutputStream(VectorConsumer& consumer) : DcmOutputStream(&consumer) {}
};

void check(const OFCondition& cond, std::string_view what) {
    if (cond.bad())
        throw std::runtime_error("DCMTK: " + std::string(what) + ": " + cond.text());
}

Uint16 getU16(DcmDataset& ds, const DcmTagKey& tag) {
    Uint16 v = 0;
    check(ds.findAndGetUint16(tag, v), std::string("read ") + tag.toString().c_str());
    return v;
}

// JPEG 2000: DCMTK has no encoder, so each frame becomes a hand-built flat
// codestream (see jpeg2000.hpp) in an encapsulated sequence with a Basic
// Offset Table and one fragment per frame.
void encapsulateFlatJpeg2000(DcmDataset& ds, bool reversible) {
    const Uint16 rows = getU16(ds, DCM_Rows);
    const Uint16 columns = getU16(ds, DCM_Columns);
    const Uint16 samples = getU16(ds, DCM_SamplesPerPixel);
    const Uint16 bitsAllocated = getU16(ds, DCM_BitsAllocated);
    const Uint16 bitsStored = getU16(ds, DCM_BitsStored);
    const Uint16 pixelRepresentation = getU16(ds, DCM_PixelRepresentation);
    Sint32 frames = 1;
    if (ds.tagExists(DCM_NumberOfFrames))
        check(ds.findAndGetSint32(DCM_NumberOfFrames, frames), "read NumberOfFrames");
    // Colour goes through the multi-component transform: the US IOD allows
    // only YBR_RCT (lossless) and YBR_ICT (lossy) with JPEG 2000.
    const bool colour = samples == 3;
    std::vector<std::uint8_t> codestream = flatCodestream(
        {rows, columns, samples, bitsStored, pixelRepresentation == 1, reversible, colour});
    if (colour) {
        check(ds.putAndInsertString(DCM_PhotometricInterpretation,
                                    reversible ? "YBR_RCT" : "YBR_ICT"),
              "set PhotometricInterpretation");
    }

    auto sequence = std::make_unique<DcmPixelSequence>(DCM_PixelSequenceTag);
    auto table = std::make_unique<DcmPixelItem>(DCM_PixelItemTag);
    DcmPixelItem* offsetTable = table.get();
    check(sequence->insert(table.get()), "insert offset table");
    static_cast<void>(table.release());  // the sequence owns it now
    DcmOffsetList offsets;
    for (Sint32 f = 0; f < frames; ++f) {
        check(sequence->storeCompressedFrame(offsets, codestream.data(),
                                             static_cast<Uint32>(codestream.size()), 0),
              "store JPEG 2000 frame");
    }
    check(offsetTable->createOffsetTable(offsets), "create offset table");

    DcmElement* element = nullptr;
    check(ds.findAndGetElement(DCM_PixelData, element), "find PixelData");
    static_cast<DcmPixelData*>(element)->putOriginalRepresentation(
        reversible ? EXS_JPEG2000LosslessOnly : EXS_JPEG2000, nullptr, sequence.release());
    if (!reversible) {
        const double native =
            static_cast<double>(rows) * columns * samples * (bitsAllocated / 8) * frames;
        char ratio[32];
        std::snprintf(ratio, sizeof ratio, "%.1f", native / static_cast<double>(codestream.size()));
        check(ds.putAndInsertString(DCM_LossyImageCompression, "01"), "set LossyImageCompression");
        check(ds.putAndInsertString(DCM_LossyImageCompressionRatio, ratio),
              "set LossyImageCompressionRatio");
        check(ds.putAndInsertString(DCM_LossyImageCompressionMethod, "ISO_15444_1"),
              "set LossyImageCompressionMethod");
    }
}

void compress(DcmDataset& ds, TransferSyntax ts) {
    const E_TransferSyntax xfer = dcmtkSyntax(ts);
    std::unique_ptr<DcmRepresentationParameter> param;
    switch (ts) {
        case TransferSyntax::Implicit:
        case TransferSyntax::Explicit:
        case TransferSyntax::Deflated:
            return;
        case TransferSyntax::Jpeg2000:
        case TransferSyntax::Jpeg2000Lossless:
            encapsulateFlatJpeg2000(ds, ts == TransferSyntax::Jpeg2000Lossless);
            return;
        case TransferSyntax::JpegBaseline:
        case TransferSyntax::JpegExtended:
            param = std::make_unique<DJ_RPLossy>(90);
            break;
        case TransferSyntax::JpegLossless:
            param = std::make_unique<DJ_RPLossless>(1, 0);
            break;
        case TransferSyntax::JpegLs:
            param = std::make_unique<DJLSRepresentationParameter>(2, OFFalse);
            break;
        case TransferSyntax::JpegLsLossless:
            param = std::make_unique<DJLSRepresentationParameter>(0, OFTrue);
            break;
        case TransferSyntax::Rle:
            param = std::make_unique<DcmRLERepresentationParameter>();
            break;
    }
    check(ds.chooseRepresentation(xfer, param.get()),
          "compress as " + std::string(transferSyntaxName(ts)));
    if (!ds.canWriteXfer(xfer)) {
        throw std::runtime_error("DCMTK: cannot write the pixel data as " +
                                 std::string(transferSyntaxName(ts)));
    }
}

}  // namespace

CodecRegistration::CodecRegistration() {
    // DCMTK logs at INFO to stderr by default; keep warnings and errors.
    OFLog::configure(OFLogger::WARN_LOG_LEVEL);
    DJEncoderRegistration::registerCodecs(ECC_lossyYCbCr, EUC_never);
    DJLSEncoderRegistration::registerCodecs(0, 0, 0, 0, OFTrue, 0, OFTrue, EJLSUC_never);
    DcmRLEEncoderRegistration::registerCodecs(OFFalse);
}

CodecRegistration::~CodecRegistration() {
    DcmRLEEncoderRegistration::cleanup();
    DJLSEncoderRegistration::cleanup();
    DJEncoderRegistration::cleanup();
}

std::string transferSyntaxUid(TransferSyntax ts) {
    return DcmXfer(dcmtkSyntax(ts)).getXferID();
}

bool isEncapsulated(TransferSyntax ts) {
    return DcmXfer(dcmtkSyntax(ts)).isEncapsulated();
}

std::vector<std::uint8_t> encodeFile(DcmFileFormat& file, TransferSyntax ts) {
    DcmDataset& ds = *file.getDataset();
    compress(ds, ts);
    std::vector<std::uint8_t> out;
    VectorConsumer consumer(out);
    VectorOutputStream stream(consumer);
    DcmWriteCache cache;
    file.transferInit();
    const OFCondition cond = file.write(stream, dcmtkSyntax(ts), EET_ExplicitLength, &cache,
                                        EGL_recalcGL, EPD_noChange, 0, 0, 0, EWM_fileformat);
    file.transferEnd();
    check(cond, "write as " + std::string(transferSyntaxName(ts)));
    // The deflate filter holds its tail until flushed.
    while (!stream.isFlushed())
        stream.flush();
    return out;
}

}  // namespace sealport::synthstudy
