#include <chrono>
#include <set>

#include "ingest_test_support.hpp"

using namespace sealport::ingest;
using namespace sealport::ingest::test;

namespace {

Bytes prefix(const Bytes& b, std::size_t n) {
    return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

// Implicit VR LE object with (gggg,eeee) holding `depth` nested items of
// *defined* length: no delimiters, so only the lengths say where each ends.
Bytes definedLengthNest(std::uint16_t group, std::uint16_t element, std::size_t depth) {
    const std::string_view sopClass = UID_ComprehensiveSRStorage;
    Bytes b = handMadeMeta(sopClass, "2.25.9", "1.2.840.10008.1.2");
    implicitRequiredUidsHead(b, sopClass, "2.25.9");
    implicitRequiredUidsTail(b);
    // Each level is 16 bytes of headers: the element (8) and its item (8).
    for (std::size_t i = 0; i < depth; ++i) {
        const auto inner = static_cast<std::uint32_t>(16 * (depth - i - 1));
        put16le(b, group);
        put16le(b, element);
        put32le(b, inner + 8);
        put16le(b, 0xFFFE);
        put16le(b, 0xE000);
        put32le(b, inner);
    }
    return b;
}

// `count` empty elements inside one item: tiny on the wire, one DCMTK object each.
Bytes manyElements(std::size_t count) {
    const std::string_view sopClass = UID_ComprehensiveSRStorage;
    Bytes b = handMadeMeta(sopClass, "2.25.9", "1.2.840.10008.1.2");
    implicitRequiredUidsHead(b, sopClass, "2.25.9");
    implicitRequiredUidsTail(b);
    b.reserve(b.size() + 8 * count + 64);
    put16le(b, 0x0040);
    put16le(b, 0xA730);
    put32le(b, 0xFFFFFFFF);
    put16le(b, 0xFFFE);
    put16le(b, 0xE000);
    put32le(b, 0xFFFFFFFF);
    for (std::size_t i = 0; i < count; ++i) {
        put16le(b, 0x0009);
        put16le(b, 0x1010);
        put32le(b, 0);
    }
    put16le(b, 0xFFFE);
    put16le(b, 0xE00D);
    put32le(b, 0);
    put16le(b, 0xFFFE);
    put16le(b, 0xE0DD);
    put32le(b, 0);
    return b;
}

}  // namespace

// A cut that falls exactly between two top-level elements leaves a shorter but
// well-formed object, indistinguishable from one that was sent that way: it is
// accepted when the UIDs it still holds suffice (its hashes describe the bytes
// given). Every other cut is refused. C-STORE frames each object, so a
// truncated transfer does not reach the parser as such a prefix.
TEST_CASE("an object cut at any byte is refused unless the cut falls between top-level elements",
          "[structure][truncation]") {
    const auto [xfer, encoding] = GENERATE(table<E_TransferSyntax, E_EncodingType>({
        {EXS_LittleEndianExplicit, EET_ExplicitLength},
        {EXS_LittleEndianExplicit, EET_UndefinedLength},
        {EXS_LittleEndianImplicit, EET_ExplicitLength},
        {EXS_LittleEndianImplicit, EET_UndefinedLength},
        {EXS_BigEndianExplicit, EET_ExplicitLength},
        {EXS_JPEG2000LosslessOnly, EET_UndefinedLength},
    }));
    CAPTURE(DcmXfer(xfer).getXferName(), encoding);
    ObjectSpec spec;
    if (DcmXfer(xfer).isEncapsulated()) spec.pixels = Pixels::encapsulated;
    auto ff = makeObject(spec, xfer);
    EncodeOptions opt;
    opt.encoding = encoding;
    const Bytes whole = encode(*ff, xfer, opt);
    const std::size_t datasetStart = metaEnd(whole);

    // Where each top-level element ends, from DCMTK's own idea of their sizes.
    std::set<std::size_t> boundaries{datasetStart};
    std::size_t pos = datasetStart;
    DcmDataset& ds = *ff->getDataset();
    for (DcmObject* o = ds.nextInContainer(nullptr); o != nullptr; o = ds.nextInContainer(o)) {
        pos += o->calcElementLength(xfer, encoding);
        boundaries.insert(pos);
    }
    REQUIRE(pos == whole.size());

    std::size_t acceptedCuts = 0;
    for (std::size_t cut = 0; cut < whole.size(); ++cut) {
        const auto r = parse(prefix(whole, cut));
        CAPTURE(cut, describe(r));
        if (const auto* f = std::get_if<InstanceFields>(&r)) {
            ++acceptedCuts;
            CHECK(boundaries.count(cut) == 1);
            CHECK(f->sopInstanceUid == *spec.sopInstanceUid);
            CHECK(f->size == cut);
            continue;
        }
        const RejectReason reason = std::get<Rejection>(r).reason;
        if (cut < 132)
            CHECK(reason == RejectReason::not_dicom);
        else if (cut < datasetStart)
            CHECK((reason == RejectReason::truncated || reason == RejectReason::missing_uid));
        else if (boundaries.count(cut) == 1)
            CHECK(reason == RejectReason::missing_uid);
        else
            CHECK(reason == RejectReason::truncated);
    }
    // Those after the Series Instance UID: (0020,0011) onwards, the private group, pixel data.
    CHECK(acceptedCuts >= 4);
}

TEST_CASE("a deflated object cut anywhere is refused", "[structure][truncation]") {
    const Bytes whole = makePart10(ObjectSpec{}, EXS_DeflatedLittleEndianExplicit);
    const std::size_t datasetStart = metaEnd(whole);
    for (std::size_t cut = datasetStart; cut < whole.size(); ++cut) {
        const auto r = parse(prefix(whole, cut));
        CAPTURE(cut, describe(r));
        // Only the pad byte after the end of the deflate stream may go unnoticed.
        if (cut + 1 < whole.size()) CHECK(rejected(r).reason == RejectReason::truncated);
    }
}

TEST_CASE("sequences nested to the limit are accepted, one more is refused", "[structure][depth]") {
    accepted(parse(nestedSequences(kMaxSequenceDepth)));
    CHECK(rejected(parse(nestedSequences(kMaxSequenceDepth + 1))).reason == RejectReason::too_large);
    accepted(parse(definedLengthNest(0x0040, 0xA730, kMaxSequenceDepth)));
    CHECK(rejected(parse(definedLengthNest(0x0040, 0xA730, kMaxSequenceDepth + 1))).reason ==
          RejectReason::too_large);
}

// Regression: DCMTK 3.6.7 parses sequences recursively, about 1 KiB of stack
// per level; 10,000 levels (360 KiB) overflowed an 8 MiB stack and killed
// the process. The walk refuses it before DCMTK sees it.
TEST_CASE("a sequence bomb that overflows DCMTK's stack is refused before DCMTK sees it",
          "[structure][depth]") {
    const auto start = std::chrono::steady_clock::now();
    const Rejection r = rejected(parse(nestedSequences(50'000)));
    CHECK(r.reason == RejectReason::too_large);
    CHECK(r.detail.find("nested") != std::string::npos);
    CHECK(rejected(parse(definedLengthNest(0x0040, 0xA730, 50'000))).reason == RejectReason::too_large);
    // Private tags DCMTK does not know: counted as sequences all the same.
    CHECK(rejected(parse(definedLengthNest(0x0009, 0x1010, 50'000))).reason == RejectReason::too_large);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

// DCMTK reads (0040,A730) as a sequence from its dictionary whatever the
// value holds; a value that does not start with an item is not walked into.
// Whatever DCMTK does with it, the process must survive.
TEST_CASE("a dictionary sequence whose value hides a nested bomb behind a non-item tag",
          "[structure][depth]") {
    const Bytes inner = nestedSequences(20'000);
    const std::size_t innerDataset = find(inner, "\x40\x00\x30\xA7");  // first (0040,A730)
    Bytes value;
    implicitElement(value, 0x0008, 0x0100, "CODE01");  // a non-item start
    value.insert(value.end(), inner.begin() + static_cast<std::ptrdiff_t>(innerDataset), inner.end());
    const std::string_view sopClass = UID_ComprehensiveSRStorage;
    Bytes b = handMadeMeta(sopClass, "2.25.9", "1.2.840.10008.1.2");
    implicitRequiredUidsHead(b, sopClass, "2.25.9");
    implicitRequiredUidsTail(b);
    put16le(b, 0x0040);
    put16le(b, 0xA730);
    put32le(b, static_cast<std::uint32_t>(value.size()));
    b.insert(b.end(), value.begin(), value.end());
    const auto r = parse(b);
    INFO(describe(r));
    CHECK(std::holds_alternative<Rejection>(r));
}

TEST_CASE("more elements than the limit are refused without parsing them", "[structure]") {
    CHECK(rejected(parse(manyElements(kMaxDataElements))).reason == RejectReason::too_large);
    accepted(parse(manyElements(10'000)));
}

TEST_CASE("a deflated dataset that inflates past the size limit is refused", "[structure]") {
    auto ff = makeObject(ObjectSpec{});
    std::vector<Uint16> zeros(1024 * 1024);  // 2 MiB that deflate to a few KiB
    check(ff->getDataset()->putAndInsertUint16Array(DCM_PixelData, zeros.data(),
                                                    static_cast<unsigned long>(zeros.size())),
          "zeros");
    const Bytes b = encode(*ff, EXS_DeflatedLittleEndianExplicit);
    REQUIRE(b.size() < 64 * 1024);
    const Rejection r = rejected(parse(b, 1u << 20));
    CHECK(r.reason == RejectReason::too_large);
    CHECK(r.detail.find("inflates") != std::string::npos);
    accepted(parse(b, 4u << 20));
}

TEST_CASE("UN of undefined length holds Implicit VR items, as CP-246 says", "[structure]") {
    // Explicit VR LE; (0040,A730) sent as UN by a system that did not know it.
    Bytes b = handMadeMeta(UID_ComprehensiveSRStorage, "2.25.9", "1.2.840.10008.1.2.1");
    const auto shortUi = [&](std::uint16_t g, std::uint16_t e, std::string_view v) {
        put16le(b, g);
        put16le(b, e);
        b.push_back('U');
        b.push_back('I');
        const std::size_t padded = v.size() + (v.size() & 1);
        put16le(b, static_cast<std::uint16_t>(padded));
        b.insert(b.end(), v.begin(), v.end());
        if (v.size() & 1) b.push_back(0);
    };
    shortUi(0x0008, 0x0016, UID_ComprehensiveSRStorage);
    shortUi(0x0008, 0x0018, "2.25.9");
    shortUi(0x0020, 0x000D, "1.2.3.4");
    shortUi(0x0020, 0x000E, "1.2.3.5");
    put16le(b, 0x0040);
    put16le(b, 0xA730);
    b.insert(b.end(), {'U', 'N', 0, 0});
    put32le(b, 0xFFFFFFFF);
    put16le(b, 0xFFFE);
    put16le(b, 0xE000);
    put32le(b, 0xFFFFFFFF);
    implicitElement(b, 0x0040, 0xA010, "CONTAINS");  // implicit inside, as CP-246 says
    put16le(b, 0xFFFE);
    put16le(b, 0xE00D);
    put32le(b, 0);
    put16le(b, 0xFFFE);
    put16le(b, 0xE0DD);
    put32le(b, 0);
    const InstanceFields f = accepted(parse(b));
    CHECK(f.studyUid == "1.2.3.4");
}

TEST_CASE("encapsulated pixel data with many fragments is walked, not decoded", "[structure]") {
    auto ff = makeObject(ObjectSpec{}, EXS_JPEG2000LosslessOnly);
    DcmDataset& ds = *ff->getDataset();
    check(ds.findAndDeleteElement(DCM_PixelData), "remove pixel data");
    auto* sequence = new DcmPixelSequence(DCM_PixelSequenceTag);
    sequence->insert(new DcmPixelItem(DcmTag(DCM_Item, EVR_OB)));
    for (int i = 0; i < 500; ++i) {
        auto* fragment = new DcmPixelItem(DcmTag(DCM_Item, EVR_OB));
        const Uint8 bytes[6] = {0xFF, 0x4F, static_cast<Uint8>(i), 0, 0, 0};  // not decodable
        check(fragment->putUint8Array(bytes, sizeof bytes), "fragment");
        sequence->insert(fragment);
    }
    auto* pixelData = new DcmPixelData(DCM_PixelData);
    pixelData->putOriginalRepresentation(EXS_JPEG2000LosslessOnly, nullptr, sequence);
    check(ds.insert(pixelData, OFTrue), "insert");
    const Bytes b = encode(*ff, EXS_JPEG2000LosslessOnly);
    const InstanceFields f = accepted(parse(b));
    CHECK(f.transferSyntaxUid == "1.2.840.10008.1.2.4.90");

    // A fragment claiming undefined length is no fragment.
    Bytes broken = b;
    const std::size_t lastItem = [&] {
        std::size_t at = 0, next = 0;
        const Uint8 item[] = {0xFE, 0xFF, 0x00, 0xE0};
        try {
            for (;;) {
                next = find(broken, std::span<const std::uint8_t>(item, 4), at + 1);
                at = next;
            }
        } catch (const std::runtime_error&) {
        }
        return at;
    }();
    for (int i = 4; i < 8; ++i) broken[lastItem + static_cast<std::size_t>(i)] = 0xFF;
    CHECK(rejected(parse(broken)).reason == RejectReason::malformed);
}
