#include <dcmtk/dcmdata/dcddirif.h>

#include <fstream>
#include <functional>
#include <iterator>

#include "ingest_test_support.hpp"
#include "temp_dir.hpp"

using namespace sealport::ingest;
using namespace sealport::ingest::test;
using namespace std::literals;

namespace {

const ObjectSpec kSpec;


Bytes valid() { return makePart10(kSpec); }

Bytes withSpec(const std::function<void(ObjectSpec&)>& change,
               E_TransferSyntax xfer = EXS_LittleEndianExplicit) {
    ObjectSpec spec = kSpec;
    change(spec);
    return makePart10(spec, xfer);
}

Bytes cutTo(Bytes b, std::size_t size) {
    b.resize(size);
    return b;
}

// Explicit VR Little Endian header bytes of (gggg,eeee) with a VR.
std::string explicitHeader(std::uint16_t group, std::uint16_t element, std::string_view vr) {
    std::string s;
    s += static_cast<char>(group & 0xFF);
    s += static_cast<char>(group >> 8);
    s += static_cast<char>(element & 0xFF);
    s += static_cast<char>(element >> 8);
    s += vr;
    return s;
}

// An Explicit VR Little Endian element with a 2-byte length, padded to even length.
void explicitShort(Bytes& b, std::uint16_t group, std::uint16_t element, std::string_view vr,
                   std::string_view value) {
    const std::string h = explicitHeader(group, element, vr);
    b.insert(b.end(), h.begin(), h.end());
    const std::size_t padded = value.size() + (value.size() & 1);
    put16le(b, static_cast<std::uint16_t>(padded));
    b.insert(b.end(), value.begin(), value.end());
    if (value.size() & 1) b.push_back(vr == "UI" ? 0 : ' ');
}

void setLength32(Bytes& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Pixel data (OW) whose 4-byte length is set to `length`.
Bytes pixelLength(std::uint32_t length) {
    Bytes b = valid();
    const std::size_t at = find(b, explicitHeader(0x7FE0, 0x0010, "OW"));
    setLength32(b, at + 8, length);
    return b;
}

Bytes garbageAfterDicm() {
    Bytes b(128, 0);
    b.insert(b.end(), {'D', 'I', 'C', 'M'});
    std::uint32_t x = 12345;
    for (int i = 0; i < 300; ++i) {
        x = x * 1103515245u + 12345u;
        b.push_back(static_cast<std::uint8_t>(x >> 16));
    }
    b[132] = 0x37;  // whatever the generator says, not group 0002
    return b;
}

Bytes implicitObject(const std::function<void(Bytes&)>& body,
                     std::string_view ts = "1.2.840.10008.1.2") {
    const std::string_view sopClass = UID_SecondaryCaptureImageStorage;
    const std::string_view sopInstance = "2.25.77";
    Bytes b = handMadeMeta(sopClass, sopInstance, ts);
    implicitRequiredUidsHead(b, sopClass, sopInstance);
    body(b);
    return b;
}

Bytes metaWith(const std::function<void(Bytes&)>& group) {
    Bytes b(128, 0);
    b.insert(b.end(), {'D', 'I', 'C', 'M'});
    group(b);
    return b;
}

void metaUi(Bytes& b, std::uint16_t element, std::string_view v) {
    put16le(b, 0x0002);
    put16le(b, element);
    b.push_back('U');
    b.push_back('I');
    put16le(b, static_cast<std::uint16_t>(v.size()));
    b.insert(b.end(), v.begin(), v.end());
}

Bytes deflatedWithGarbage() {
    Bytes b = makePart10(kSpec, EXS_DeflatedLittleEndianExplicit);
    for (std::size_t i = metaEnd(b); i < b.size(); ++i) b[i] = 0xFF;
    return b;
}

// What a C-STORE carries: the dataset alone, no preamble, no meta header.
Bytes datasetWithoutMeta() {
    const Bytes whole = valid();
    return Bytes(whole.begin() + static_cast<std::ptrdiff_t>(metaEnd(whole)), whole.end());
}

// A DICOMDIR as DCMTK's DicomDirInterface writes it, for a file-set of one image.
Bytes realDicomdir() {
    sealport::testing::TempDir dir("sealport-ingest");
    auto ff = makeObject(kSpec);
    check(ff->getDataset()->putAndInsertString(DCM_StudyID, "1"), "study id");
    check(ff->saveFile((dir / "IM000001").c_str(), EXS_LittleEndianExplicit), "save image");
    DicomDirInterface ddi;
    ddi.enableInventMode(OFTrue);
    const std::string dicomdir = (dir / "DICOMDIR").string();
    check(ddi.createNewDicomDir(DicomDirInterface::AP_GeneralPurpose, dicomdir.c_str()), "create");
    check(ddi.addDicomFile("IM000001", dir.path().c_str()), "add");
    check(ddi.writeDicomDir(), "write");
    std::ifstream in(dicomdir, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct RejectCase {
    const char* name;
    std::function<Bytes()> make;
    RejectReason reason;
    std::size_t maxBytes = kTestMaxBytes;
};

std::vector<RejectCase> rejectCases() {
    using R = RejectReason;
    return {
        // not_dicom
        {"empty input", [] { return Bytes{}; }, R::not_dicom},
        {"shorter than preamble and prefix", [] { return Bytes(131, 0); }, R::not_dicom},
        {"DICN instead of DICM", [] { Bytes b = valid(); b[131] = 'N'; return b; }, R::not_dicom},
        {"a bare dataset without preamble", datasetWithoutMeta, R::not_dicom},
        {"a PNG file",
         [] {
             Bytes b = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
             b.resize(300, 0);
             return b;
         },
         R::not_dicom},

        // truncated
        {"cut inside the pixel data", [] { Bytes b = valid(); return cutTo(b, b.size() - 3); }, R::truncated},
        {"cut inside a File Meta element", [] { return cutTo(valid(), 150); }, R::truncated},
        {"cut inside the preamble's first element header", [] { return cutTo(valid(), 135); }, R::truncated},
        {"pixel data length points past the end", [] { return pixelLength(0x00100000); }, R::truncated},
        {"pixel data length 0xFFFFFFF0", [] { return pixelLength(0xFFFFFFF0u); }, R::truncated},
        {"a File Meta length points past the end",
         [] {
             Bytes b = valid();
             const std::size_t at = find(b, explicitHeader(0x0002, 0x0010, "UI"));
             b[at + 6] = 0xF0;
             b[at + 7] = 0xFF;
             return b;
         },
         R::truncated},
        {"a deflated stream cut short",
         [] {
             Bytes b = makePart10(kSpec, EXS_DeflatedLittleEndianExplicit);
             return cutTo(b, b.size() - 10);
         },
         R::truncated},
        {"a sequence of undefined length never closed",
         [] {
             Bytes b = nestedSequences(3);
             return cutTo(b, b.size() - 16);
         },
         R::truncated},

        // malformed
        {"garbage after DICM", garbageAfterDicm, R::malformed},
        {"group 0002 that is not Explicit VR",
         [] {
             return metaWith([](Bytes& b) {
                 put16le(b, 0x0002);
                 put16le(b, 0x0000);
                 put32le(b, 4);  // implicit: a 4-byte length where the VR belongs
                 put32le(b, 100);
             });
         },
         R::malformed},
        {"File Meta elements out of order",
         [] {
             return metaWith([](Bytes& b) {
                 metaUi(b, 0x0010, "1.2.840.10008.1.2");
                 metaUi(b, 0x0002, "1.2.3.4");
             });
         },
         R::malformed},
        {"File Meta element of undefined length",
         [] {
             return metaWith([](Bytes& b) {
                 put16le(b, 0x0002);
                 put16le(b, 0x0001);
                 b.insert(b.end(), {'O', 'B', 0, 0});
                 put32le(b, 0xFFFFFFFF);
             });
         },
         R::malformed},
        {"an item runs past the end of its sequence",
         [] {
             Bytes b = valid();
             // ReferencedImageSequence (0008,1140), defined length, then its item.
             const std::size_t sq = find(b, explicitHeader(0x0008, 0x1140, "SQ"));
             const std::size_t item = sq + 12;
             REQUIRE(b[item] == 0xFE);
             REQUIRE(b[item + 2] == 0x00);
             b[item + 4] = static_cast<std::uint8_t>(b[item + 4] + 2);
             return b;
         },
         R::malformed},
        {"an attribute appears twice",
         [] {
             return implicitObject([](Bytes& b) {
                 implicitElement(b, 0x0010, 0x0010, "Alpha^A");
                 implicitElement(b, 0x0010, 0x0010, "Beta^B ");
                 implicitRequiredUidsTail(b);
             });
         },
         R::malformed},
        {"SOP Instance UID differs from the meta header",
         [] {
             Bytes b = valid();
             const std::string uid = *kSpec.sopInstanceUid;
             std::string other = uid;
             other.back() = other.back() == '1' ? '2' : '1';
             patch(b, uid, other);  // the first occurrence is the meta's
             return b;
         },
         R::malformed},
        {"SOP Class UID differs from the meta header",
         [] {
             Bytes b = valid();
             patch(b, UID_CTImageStorage, UID_MRImageStorage);
             return b;
         },
         R::malformed},
        {"an unknown VR in the dataset",
         [] {
             Bytes b = valid();
             const std::size_t at = find(b, explicitHeader(0x0010, 0x0010, "PN"));
             b[at + 4] = 'Q';
             b[at + 5] = 'Q';
             return b;
         },
         R::malformed},
        {"a sequence delimiter at the top level",
         [] {
             return implicitObject([](Bytes& b) {
                 put16le(b, 0xFFFE);
                 put16le(b, 0xE0DD);
                 put32le(b, 0);
                 implicitRequiredUidsTail(b);
             });
         },
         R::malformed},
        {"a deflated dataset that does not inflate", deflatedWithGarbage, R::malformed},
        {"native pixel data in an encapsulated transfer syntax (DCMTK refuses)",
         [] {
             Bytes b = valid();
             patch(b, "1.2.840.10008.1.2.1\0"sv, "1.2.840.10008.1.2.5\0"sv, 0);  // RLE, same length
             return b;
         },
         R::malformed},

        // missing_uid
        {"no Study Instance UID", [] { return withSpec([](ObjectSpec& s) { s.studyUid.reset(); }); }, R::missing_uid},
        {"no Series Instance UID", [] { return withSpec([](ObjectSpec& s) { s.seriesUid.reset(); }); }, R::missing_uid},
        {"no SOP Class UID", [] { return withSpec([](ObjectSpec& s) { s.sopClassUid.reset(); }); }, R::missing_uid},
        {"an empty SOP Instance UID", [] { return withSpec([](ObjectSpec& s) { s.sopInstanceUid = ""; }); }, R::missing_uid},
        {"an empty Study Instance UID", [] { return withSpec([](ObjectSpec& s) { s.studyUid = ""; }); }, R::missing_uid},
        {"no Transfer Syntax UID in the meta",
         [] { return metaWith([](Bytes& b) { metaUi(b, 0x0002, "1.2.3.4"); metaUi(b, 0x0003, "1.2.3.5"); }); },
         R::missing_uid},
        {"the meta header and nothing after it", [] { Bytes b = valid(); return cutTo(b, metaEnd(b)); }, R::missing_uid},

        // invalid_uid
        {"a Study UID with a leading zero", [] { return withSpec([](ObjectSpec& s) { s.studyUid = "1.2.03"; }); }, R::invalid_uid},
        {"a Study UID with an empty component", [] { return withSpec([](ObjectSpec& s) { s.studyUid = "1..2"; }); }, R::invalid_uid},
        {"a Series UID with a letter", [] { return withSpec([](ObjectSpec& s) { s.seriesUid = "1.2.a"; }); }, R::invalid_uid},
        {"a Series UID ending in a dot", [] { return withSpec([](ObjectSpec& s) { s.seriesUid = "1.2."; }); }, R::invalid_uid},
        {"a Study UID with a space inside (DCMTK would quietly remove it)",
         [] {
             return implicitObject([](Bytes& b) {
                 implicitElement(b, 0x0020, 0x000D, "1.2. 3");
                 implicitElement(b, 0x0020, 0x000E, "1.2.3.5");
             });
         },
         R::invalid_uid},
        {"a Study UID of 65 characters",
         [] { return withSpec([](ObjectSpec& s) { s.studyUid = "1.2." + std::string(61, '7'); }); }, R::invalid_uid},
        {"a SOP Instance UID with a leading zero (meta and dataset)",
         [] { return withSpec([](ObjectSpec& s) { s.sopInstanceUid = "2.25.0123"; }); }, R::invalid_uid},
        {"a Transfer Syntax UID that is not a UID",
         [] { return implicitObject([](Bytes& b) { implicitRequiredUidsTail(b); }, "1.2.840.10008.1.2.01"); },
         R::invalid_uid},
        {"a zero-length Study UID in Implicit VR",
         [] {
             return implicitObject([](Bytes& b) {
                 implicitElement(b, 0x0020, 0x000D, "");
                 implicitElement(b, 0x0020, 0x000E, "1.2.3.5");
             });
         },
         R::missing_uid},
        {"a Study UID encoded as a sequence",
         [] {
             Bytes b = handMadeMeta(UID_SecondaryCaptureImageStorage, "2.25.77", "1.2.840.10008.1.2.1");
             explicitShort(b, 0x0008, 0x0016, "UI", UID_SecondaryCaptureImageStorage);
             explicitShort(b, 0x0008, 0x0018, "UI", "2.25.77");
             const std::string sq = explicitHeader(0x0020, 0x000D, "SQ");
             b.insert(b.end(), sq.begin(), sq.end());
             put16le(b, 0);
             put32le(b, 0);
             explicitShort(b, 0x0020, 0x000E, "UI", "1.2.3.5");
             return b;
         },
         R::invalid_uid},
        {"a Study UID encoded as a person name",
         [] {
             Bytes b = handMadeMeta(UID_SecondaryCaptureImageStorage, "2.25.77", "1.2.840.10008.1.2.1");
             explicitShort(b, 0x0008, 0x0016, "UI", UID_SecondaryCaptureImageStorage);
             explicitShort(b, 0x0008, 0x0018, "UI", "2.25.77");
             explicitShort(b, 0x0020, 0x000D, "PN", "1.2.3.4");
             explicitShort(b, 0x0020, 0x000E, "UI", "1.2.3.5");
             return b;
         },
         R::invalid_uid},

        // too_large
        {"one byte over the limit", [] { return valid(); }, R::too_large, 1000},
        {"sequences nested one deeper than allowed", [] { return nestedSequences(kMaxSequenceDepth + 1); }, R::too_large},

        // unsupported
        {"a transfer syntax nobody defined",
         [] { return implicitObject([](Bytes& b) { implicitRequiredUidsTail(b); }, "1.2.3.4.5.6"); },
         R::unsupported},
        {"HTJ2K, newer than this DCMTK",
         [] { return implicitObject([](Bytes& b) { implicitRequiredUidsTail(b); }, "1.2.840.10008.1.2.4.201"); },
         R::unsupported},

        // is_dicomdir
        {"a DICOMDIR written by DCMTK", realDicomdir, R::is_dicomdir},
        {"a meta header naming the Media Storage Directory class",
         [] {
             Bytes b = handMadeMeta(UID_MediaStorageDirectoryStorage, "1.2.3", "1.2.840.10008.1.2.1");
             return b;
         },
         R::is_dicomdir},
    };
}

}  // namespace

TEST_CASE("each kind of bad input is refused with its own reason", "[reject]") {
    static const std::vector<RejectCase> cases = rejectCases();
    const std::size_t i = GENERATE(range(std::size_t{0}, rejectCases().size()));
    const RejectCase& c = cases[i];
    INFO(c.name);
    const Bytes b = c.make();
    const auto r = parse(b, c.maxBytes);
    INFO(describe(r));
    const Rejection rej = rejected(r);
    CHECK(rej.reason == c.reason);
    CHECK_FALSE(rej.detail.empty());
    // The detail is for operators: none of the object's identifying values.
    for (const std::string& secret :
         {kSpec.patientName, kSpec.patientId, *kSpec.studyUid, *kSpec.seriesUid,
          *kSpec.sopInstanceUid, std::string("Alpha"), std::string("Beta")}) {
        CHECK(rej.detail.find(secret) == std::string::npos);
    }
}

TEST_CASE("a DICOMDIR is refused with a reason an operator understands", "[reject]") {
    const Rejection r = rejected(parse(realDicomdir()));
    CHECK(r.reason == RejectReason::is_dicomdir);
    CHECK(r.detail == "a DICOMDIR is an index, not an image");
}

TEST_CASE("the size limit is checked before anything is parsed", "[reject]") {
    const Bytes b = valid();
    CHECK(std::holds_alternative<InstanceFields>(parse(b, b.size())));
    const Rejection r = rejected(parse(b, b.size() - 1));
    CHECK(r.reason == RejectReason::too_large);
    // Even garbage is measured first: the limit costs nothing to enforce.
    CHECK(rejected(parse(Bytes(2000, 0xAB), 1000)).reason == RejectReason::too_large);
}
