#pragma once

// Synthetic DICOM objects for the ingest tests, built with DCMTK and encoded
// into memory. Every value here is made up; the repository holds no patient data.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/oflog/oflog.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sealport::ingest::test {

using Bytes = std::vector<std::uint8_t>;

// DCMTK logs parse warnings to stderr; the tests provoke plenty on purpose.
inline const bool kDcmtkQuiet = [] {
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    return true;
}();

inline void check(const OFCondition& c, const char* what) {
    if (c.bad()) throw std::runtime_error(std::string(what) + ": " + c.text());
}

enum class Pixels { none, native, encapsulated };

struct ObjectSpec {
    // nullopt: the attribute is left out; "" : present and empty.
    std::optional<std::string> specificCharacterSet = "ISO_IR 192";
    std::string patientName = "Synthetic^Patient";
    std::string patientId = "SP-000123";
    std::string birthDate = "19700101";
    std::string sex = "F";
    std::optional<std::string> studyUid = "2.25.318215337150521458339138093612436735611";
    std::string studyDate = "20240105";
    std::string studyTime = "101500.000";
    std::string studyDescription = "CT Chest";
    std::string accessionNumber = "ACC20240105";
    std::string referringPhysician = "Referring^Doctor^^Dr.";
    std::optional<std::string> seriesUid = "2.25.62937598102453095418717283526153917126";
    std::optional<std::string> seriesNumber = "3";
    std::string modality = "CT";
    std::string seriesDescription = "Axial 1mm";
    std::optional<std::string> sopClassUid = UID_CTImageStorage;
    std::optional<std::string> sopInstanceUid = "2.25.151066305003113429411235419442296006781";
    std::optional<std::string> instanceNumber = "7";
    Pixels pixels = Pixels::native;
    unsigned rows = 4, columns = 4;
    bool withSequence = true;  // a ReferencedImageSequence with one item, a nested code sequence
    bool withPrivate = true;   // a private creator and a private OB element
};

inline void putString(DcmItem& item, const DcmTagKey& key, const std::string& value) {
    // putAndInsertString stops at a NUL; this length-aware form keeps any byte.
    check(item.putAndInsertString(key, value.c_str(), static_cast<Uint32>(value.size())),
          "putAndInsertString");
}

inline void putOptional(DcmItem& item, const DcmTagKey& key, const std::optional<std::string>& v) {
    if (v) putString(item, key, *v);
}

// Native 16-bit pixels, or one fake JPEG 2000 fragment for encapsulated syntaxes.
inline void addPixels(DcmDataset& ds, const ObjectSpec& spec, E_TransferSyntax encapsulatedXfer) {
    check(ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(spec.rows)), "rows");
    check(ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(spec.columns)), "columns");
    check(ds.putAndInsertUint16(DCM_BitsAllocated, 16), "bits");
    check(ds.putAndInsertUint16(DCM_BitsStored, 12), "bits stored");
    check(ds.putAndInsertUint16(DCM_HighBit, 11), "high bit");
    check(ds.putAndInsertUint16(DCM_PixelRepresentation, 0), "pixel rep");
    check(ds.putAndInsertUint16(DCM_SamplesPerPixel, 1), "samples");
    check(ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2"), "photometric");
    const std::size_t count = std::size_t{spec.rows} * spec.columns;
    if (spec.pixels == Pixels::native) {
        std::vector<Uint16> px(count);
        for (std::size_t i = 0; i < count; ++i) px[i] = static_cast<Uint16>((i * 37) & 0x0FFF);
        check(ds.putAndInsertUint16Array(DCM_PixelData, px.data(), static_cast<unsigned long>(count)),
              "pixel data");
        return;
    }
    auto* sequence = new DcmPixelSequence(DCM_PixelSequenceTag);
    sequence->insert(new DcmPixelItem(DcmTag(DCM_Item, EVR_OB)));  // empty basic offset table
    auto* fragment = new DcmPixelItem(DcmTag(DCM_Item, EVR_OB));
    // A stand-in codestream: nothing here decodes it, which is the point.
    std::vector<Uint8> bytes(count + 8);
    const Uint8 soc[] = {0xFF, 0x4F, 0xFF, 0x51};
    std::copy(std::begin(soc), std::end(soc), bytes.begin());
    for (std::size_t i = 4; i < bytes.size(); ++i) bytes[i] = static_cast<Uint8>(i * 13);
    check(fragment->putUint8Array(bytes.data(), static_cast<unsigned long>(bytes.size())), "fragment");
    sequence->insert(fragment);
    auto* pixelData = new DcmPixelData(DCM_PixelData);
    pixelData->putOriginalRepresentation(encapsulatedXfer, nullptr, sequence);
    check(ds.insert(pixelData, OFTrue), "insert pixel data");
}

inline std::unique_ptr<DcmFileFormat> makeObject(const ObjectSpec& spec,
                                                 E_TransferSyntax encapsulatedXfer = EXS_JPEG2000LosslessOnly) {
    auto ff = std::make_unique<DcmFileFormat>();
    DcmDataset& ds = *ff->getDataset();
    putOptional(ds, DCM_SpecificCharacterSet, spec.specificCharacterSet);
    putOptional(ds, DCM_SOPClassUID, spec.sopClassUid);
    putOptional(ds, DCM_SOPInstanceUID, spec.sopInstanceUid);
    putString(ds, DCM_StudyDate, spec.studyDate);
    putString(ds, DCM_StudyTime, spec.studyTime);
    putString(ds, DCM_AccessionNumber, spec.accessionNumber);
    putString(ds, DCM_Modality, spec.modality);
    putString(ds, DCM_ReferringPhysicianName, spec.referringPhysician);
    putString(ds, DCM_StudyDescription, spec.studyDescription);
    putString(ds, DCM_SeriesDescription, spec.seriesDescription);
    putString(ds, DCM_PatientName, spec.patientName);
    putString(ds, DCM_PatientID, spec.patientId);
    putString(ds, DCM_PatientBirthDate, spec.birthDate);
    putString(ds, DCM_PatientSex, spec.sex);
    putOptional(ds, DCM_StudyInstanceUID, spec.studyUid);
    putOptional(ds, DCM_SeriesInstanceUID, spec.seriesUid);
    putOptional(ds, DCM_SeriesNumber, spec.seriesNumber);
    putOptional(ds, DCM_InstanceNumber, spec.instanceNumber);
    if (spec.withSequence) {
        DcmItem* item = nullptr;
        check(ds.findOrCreateSequenceItem(DCM_ReferencedImageSequence, item, -2), "sequence");
        check(item->putAndInsertString(DCM_ReferencedSOPClassUID, UID_CTImageStorage), "ref class");
        check(item->putAndInsertString(DCM_ReferencedSOPInstanceUID, "2.25.1"), "ref instance");
        DcmItem* code = nullptr;
        check(item->findOrCreateSequenceItem(DCM_PurposeOfReferenceCodeSequence, code, -2), "code");
        check(code->putAndInsertString(DCM_CodeValue, "121311"), "code value");
        check(code->putAndInsertString(DCM_CodingSchemeDesignator, "DCM"), "scheme");
        check(code->putAndInsertString(DCM_CodeMeaning, "Localizer"), "meaning");
    }
    if (spec.withPrivate) {
        check(ds.putAndInsertString(DcmTag(0x0029, 0x0010, EVR_LO), "SEALPORT TEST"), "creator");
        const Uint8 blob[] = {1, 2, 3, 4, 5, 6};
        check(ds.putAndInsertUint8Array(DcmTag(0x0029, 0x1001, EVR_OB), blob, sizeof blob),
              "private");
    }
    if (spec.pixels != Pixels::none) addPixels(ds, spec, encapsulatedXfer);
    return ff;
}

struct EncodeOptions {
    E_EncodingType encoding = EET_ExplicitLength;
    E_GrpLenEncoding groupLength = EGL_withoutGL;
    E_FileWriteMode writeMode = EWM_fileformat;
};

// The Part 10 bytes DCMTK writes for `ff` in `xfer`, straight into memory.
inline Bytes encode(DcmFileFormat& ff, E_TransferSyntax xfer, const EncodeOptions& opt = {}) {
    std::vector<Uint8> buffer(1u << 20);
    Bytes out;
    DcmOutputBufferStream stream(buffer.data(), static_cast<offile_off_t>(buffer.size()));
    const auto drain = [&] {
        void* data = nullptr;
        offile_off_t length = 0;
        stream.flushBuffer(data, length);
        const auto* p = static_cast<const std::uint8_t*>(data);
        out.insert(out.end(), p, p + length);
    };
    ff.transferInit();
    OFCondition cond = EC_StreamNotifyClient;
    while (cond == EC_StreamNotifyClient) {
        cond = ff.write(stream, xfer, opt.encoding, nullptr, opt.groupLength, EPD_noChange, 0, 0,
                        0, opt.writeMode);
        drain();
    }
    ff.transferEnd();
    check(cond, "write");
    stream.flush();
    drain();
    while (!stream.isFlushed()) {
        stream.flush();
        drain();
    }
    return out;
}

// Encapsulated transfer syntaxes get a fake fragment instead of native pixels.
inline Bytes makePart10(const ObjectSpec& spec = {}, E_TransferSyntax xfer = EXS_LittleEndianExplicit) {
    ObjectSpec s = spec;
    const bool encapsulated = DcmXfer(xfer).isEncapsulated() != OFFalse;
    if (encapsulated && s.pixels == Pixels::native) s.pixels = Pixels::encapsulated;
    auto ff = makeObject(s, encapsulated ? xfer : EXS_JPEG2000LosslessOnly);
    return encode(*ff, xfer);
}

// "4C6566" or "4C 65 66" to bytes.
inline Bytes fromHex(std::string_view hex) {
    std::string digits;
    for (char c : hex)
        if (c != ' ') digits += c;
    Bytes out;
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
    return out;
}

inline std::string asString(const Bytes& b) { return std::string(b.begin(), b.end()); }

inline std::uint32_t load32le(const Bytes& b, std::size_t at) {
    return static_cast<std::uint32_t>(b.at(at)) | (static_cast<std::uint32_t>(b.at(at + 1)) << 8) |
           (static_cast<std::uint32_t>(b.at(at + 2)) << 16) |
           (static_cast<std::uint32_t>(b.at(at + 3)) << 24);
}

// Where the dataset starts in an object DCMTK wrote: from the group length it
// puts (correctly) in (0002,0000), the first element after "DICM". Computed
// here without the library's own walk.
inline std::size_t metaEnd(const Bytes& b) {
    if (b.size() < 144 || b[132] != 0x02 || b[133] != 0x00 || b[134] != 0x00 || b[135] != 0x00)
        throw std::runtime_error("no (0002,0000) after DICM");
    return 144 + load32le(b, 140);
}

// Offset of the first occurrence of `needle` at or after `from`; throws when absent.
inline std::size_t find(const Bytes& haystack, std::span<const std::uint8_t> needle, std::size_t from = 0) {
    const auto it = std::search(haystack.begin() + static_cast<std::ptrdiff_t>(from), haystack.end(),
                                needle.begin(), needle.end());
    if (it == haystack.end()) throw std::runtime_error("pattern not found in test object");
    return static_cast<std::size_t>(it - haystack.begin());
}

inline std::size_t find(const Bytes& haystack, std::string_view needle, std::size_t from = 0) {
    return find(haystack,
                std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(needle.data()),
                                              needle.size()),
                from);
}

// Replaces the first `from` after offset `start` with `to` of the same length.
inline void patch(Bytes& b, std::string_view from, std::string_view to, std::size_t start = 0) {
    if (from.size() != to.size()) throw std::logic_error("patch must keep the length");
    const std::size_t at = find(b, from, start);
    std::copy(to.begin(), to.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
}

inline void put16le(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
}

inline void put32le(Bytes& b, std::uint32_t v) {
    put16le(b, static_cast<std::uint16_t>(v));
    put16le(b, static_cast<std::uint16_t>(v >> 16));
}

// A File Meta group written by hand (Explicit VR Little Endian, with group length).
inline Bytes handMadeMeta(std::string_view sopClass, std::string_view sopInstance, std::string_view ts) {
    Bytes group;
    const auto ui = [&](std::uint16_t element, std::string_view v) {
        put16le(group, 0x0002);
        put16le(group, element);
        group.push_back('U');
        group.push_back('I');
        const std::size_t padded = v.size() + (v.size() & 1);
        put16le(group, static_cast<std::uint16_t>(padded));
        group.insert(group.end(), v.begin(), v.end());
        if (v.size() & 1) group.push_back(0);
    };
    ui(0x0002, sopClass);
    ui(0x0003, sopInstance);
    ui(0x0010, ts);
    Bytes out(128, 0);
    out.insert(out.end(), {'D', 'I', 'C', 'M'});
    put16le(out, 0x0002);
    put16le(out, 0x0000);
    out.push_back('U');
    out.push_back('L');
    put16le(out, 4);
    put32le(out, static_cast<std::uint32_t>(group.size()));
    out.insert(out.end(), group.begin(), group.end());
    return out;
}

// An Implicit VR Little Endian element with a value.
inline void implicitElement(Bytes& b, std::uint16_t group, std::uint16_t element, std::string_view value) {
    put16le(b, group);
    put16le(b, element);
    put32le(b, static_cast<std::uint32_t>(value.size()));
    b.insert(b.end(), value.begin(), value.end());
}

// The four UIDs every accepted object needs, in Implicit VR Little Endian, in tag order.
inline void implicitRequiredUidsHead(Bytes& b, std::string_view sopClass, std::string_view sopInstance) {
    implicitElement(b, 0x0008, 0x0016, sopClass);
    implicitElement(b, 0x0008, 0x0018, sopInstance);
}

inline void implicitRequiredUidsTail(Bytes& b) {
    implicitElement(b, 0x0020, 0x000D, "1.2.3.4");
    implicitElement(b, 0x0020, 0x000E, "1.2.3.5");
}

// Implicit VR LE object whose (0040,A730) Content Sequence nests `depth`
// undefined-length items, each holding the next: the shape that exhausts the
// stack of a recursive parser.
inline Bytes nestedSequences(std::size_t depth) {
    const std::string_view sopClass = "1.2.840.10008.5.1.4.1.1.88.11";
    const std::string_view sopInstance = "1.2.3.6";
    Bytes b = handMadeMeta(sopClass, sopInstance, "1.2.840.10008.1.2");
    implicitRequiredUidsHead(b, sopClass, sopInstance);
    implicitRequiredUidsTail(b);
    for (std::size_t i = 0; i < depth; ++i) {
        put16le(b, 0x0040);
        put16le(b, 0xA730);
        put32le(b, 0xFFFFFFFF);
        put16le(b, 0xFFFE);
        put16le(b, 0xE000);
        put32le(b, 0xFFFFFFFF);
    }
    for (std::size_t i = 0; i < depth; ++i) {
        put16le(b, 0xFFFE);
        put16le(b, 0xE00D);
        put32le(b, 0);
        put16le(b, 0xFFFE);
        put16le(b, 0xE0DD);
        put32le(b, 0);
    }
    return b;
}

}  // namespace sealport::ingest::test
