#include <atomic>
#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include "ingest_test_support.hpp"
#include "sealport/core/crypto.hpp"

using namespace sealport::ingest;
using namespace sealport::ingest::test;
using sealport::core::sha256;

namespace {

std::span<const std::uint8_t> datasetOf(const Bytes& b) {
    return std::span<const std::uint8_t>(b).subspan(metaEnd(b));
}

}  // namespace

TEST_CASE("the catalogue fields match what was put in, field by field, in every transfer syntax",
          "[instance]") {
    const auto [xfer, uid] = GENERATE(table<E_TransferSyntax, std::string>({
        {EXS_LittleEndianExplicit, "1.2.840.10008.1.2.1"},
        {EXS_LittleEndianImplicit, "1.2.840.10008.1.2"},
        {EXS_BigEndianExplicit, "1.2.840.10008.1.2.2"},
        {EXS_DeflatedLittleEndianExplicit, "1.2.840.10008.1.2.1.99"},
        {EXS_JPEGProcess1, "1.2.840.10008.1.2.4.50"},
        {EXS_JPEGProcess14SV1, "1.2.840.10008.1.2.4.70"},
        {EXS_JPEGLSLossless, "1.2.840.10008.1.2.4.80"},
        {EXS_JPEG2000LosslessOnly, "1.2.840.10008.1.2.4.90"},
        {EXS_JPEG2000, "1.2.840.10008.1.2.4.91"},
        {EXS_RLELossless, "1.2.840.10008.1.2.5"},
    }));
    CAPTURE(uid);
    ObjectSpec spec;
    const Bytes b = makePart10(spec, xfer);
    const InstanceFields f = accepted(parse(b));

    CHECK(f.patientName == spec.patientName);
    CHECK(f.patientId == spec.patientId);
    CHECK(f.birthDate == spec.birthDate);
    CHECK(f.sex == spec.sex);
    CHECK(f.studyUid == *spec.studyUid);
    CHECK(f.studyDate == spec.studyDate);
    CHECK(f.studyTime == spec.studyTime);
    CHECK(f.studyDescription == spec.studyDescription);
    CHECK(f.accessionNumber == spec.accessionNumber);
    CHECK(f.referringPhysician == spec.referringPhysician);
    CHECK(f.seriesUid == *spec.seriesUid);
    CHECK(f.seriesNumber == std::optional<std::int64_t>(3));
    CHECK(f.modality == spec.modality);
    CHECK(f.seriesDescription == spec.seriesDescription);
    CHECK(f.sopClassUid == *spec.sopClassUid);
    CHECK(f.sopInstanceUid == *spec.sopInstanceUid);
    CHECK(f.instanceNumber == std::optional<std::int64_t>(7));
    CHECK(f.transferSyntaxUid == uid);
    CHECK(f.size == b.size());
    CHECK(f.sha256 == sha256(b));
    CHECK(f.datasetSha256 == sha256(datasetOf(b)));
    requireCleanText(f);
}

TEST_CASE("absent optional attributes come out empty, not as a rejection", "[instance]") {
    ObjectSpec spec;
    spec.specificCharacterSet.reset();
    spec.patientName = spec.patientId = spec.birthDate = spec.sex = "";
    spec.studyDescription = spec.accessionNumber = spec.referringPhysician = "";
    spec.seriesNumber.reset();
    spec.instanceNumber.reset();
    spec.pixels = Pixels::none;
    spec.withSequence = spec.withPrivate = false;
    const InstanceFields f = accepted(parse(makePart10(spec)));
    CHECK(f.patientName.empty());
    CHECK(f.patientId.empty());
    CHECK(f.referringPhysician.empty());
    CHECK_FALSE(f.seriesNumber.has_value());
    CHECK_FALSE(f.instanceNumber.has_value());
    CHECK(f.studyUid == *spec.studyUid);
}

TEST_CASE("datasetSha256 is the same for one dataset under two different meta headers",
          "[instance][identity]") {
    auto first = makeObject(ObjectSpec{});
    check(first->getMetaInfo()->putAndInsertString(DCM_SourceApplicationEntityTitle, "MODALITY_A"),
          "source AE");
    const Bytes a = encode(*first, EXS_LittleEndianExplicit);

    auto second = makeObject(ObjectSpec{});
    DcmMetaInfo& meta = *second->getMetaInfo();
    check(meta.putAndInsertString(DCM_SourceApplicationEntityTitle, "ARCHIVE_B_LONGER"), "source AE");
    check(meta.putAndInsertString(DCM_PrivateInformationCreatorUID, "2.25.42"), "private creator");
    const Uint8 info[] = {0xDE, 0xAD, 0xBE, 0xEF};
    check(meta.putAndInsertUint8Array(DCM_PrivateInformation, info, sizeof info), "private info");
    const Bytes b = encode(*second, EXS_LittleEndianExplicit);

    REQUIRE(a != b);
    const InstanceFields fa = accepted(parse(a));
    const InstanceFields fb = accepted(parse(b));
    CHECK(fa.sha256 != fb.sha256);
    CHECK(fa.size != fb.size);
    CHECK(fa.datasetSha256 == fb.datasetSha256);
    CHECK(fa.sopInstanceUid == fb.sopInstanceUid);
}

TEST_CASE("datasetSha256 changes when one byte of the dataset changes", "[instance][identity]") {
    const Bytes original = makePart10();
    Bytes changed = original;
    // The last byte is the last pixel: still a well-formed object after the change.
    changed.back() ^= 0x01;
    const InstanceFields a = accepted(parse(original));
    const InstanceFields b = accepted(parse(changed));
    CHECK(a.sopInstanceUid == b.sopInstanceUid);
    CHECK(a.datasetSha256 != b.datasetSha256);
    CHECK(a.sha256 != b.sha256);
}

TEST_CASE("a File Meta group length that lies or is missing does not move the dataset",
          "[instance][meta]") {
    const Bytes original = makePart10();
    const InstanceFields reference = accepted(parse(original));
    const std::uint32_t gl = static_cast<std::uint32_t>(metaEnd(original) - 144);

    const auto withGroupLength = [&](std::uint32_t value) {
        Bytes b = original;
        for (int i = 0; i < 4; ++i) b[140 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (8 * i));
        return b;
    };
    const std::uint32_t lie = GENERATE_COPY(gl + 2, gl - 2, 0u, 1u, 0x7FFFFFFFu, 0xFFFFFFFFu);
    CAPTURE(lie);
    const InstanceFields f = accepted(parse(withGroupLength(lie)));
    CHECK(f.datasetSha256 == reference.datasetSha256);
    CHECK(f.sopInstanceUid == reference.sopInstanceUid);
    CHECK(f.patientName == reference.patientName);

    Bytes without = original;
    without.erase(without.begin() + 132, without.begin() + 144);
    const InstanceFields g = accepted(parse(without));
    CHECK(g.datasetSha256 == reference.datasetSha256);
    CHECK(g.size == original.size() - 12);
}

TEST_CASE("elements after the pixel data are parsed too", "[instance]") {
    auto ff = makeObject(ObjectSpec{});
    // Dataset trailing padding sorts after (7FE0,0010).
    const Uint8 pad[8] = {};
    check(ff->getDataset()->putAndInsertUint8Array(DCM_DataSetTrailingPadding, pad, sizeof pad),
          "padding");
    const InstanceFields f = accepted(parse(encode(*ff, EXS_LittleEndianExplicit)));
    CHECK(f.sopInstanceUid == *ObjectSpec{}.sopInstanceUid);
}

TEST_CASE("Integer String values parse leniently and anything else is left out", "[instance]") {
    const auto [text, expected] = GENERATE(table<std::string, std::optional<std::int64_t>>({
        {"3", 3},
        {" 12 ", 12},
        {"+7", 7},
        {"-2", -2},
        {"007", 7},
        {"2147483647", 2147483647},
        {"-99999999999", -99999999999},
        {"", std::nullopt},
        {"abc", std::nullopt},
        {"1\\2", std::nullopt},
        {"1.5", std::nullopt},
        {"+", std::nullopt},
        {"1234567890123", std::nullopt},
    }));
    CAPTURE(text);
    ObjectSpec spec;
    spec.seriesNumber = text;
    spec.instanceNumber = text;
    const InstanceFields f = accepted(parse(makePart10(spec)));
    CHECK(f.seriesNumber == expected);
    CHECK(f.instanceNumber == expected);
}

TEST_CASE("text is trimmed of padding, and overlong values are cut at a character boundary",
          "[instance]") {
    ObjectSpec spec;
    spec.patientName = "  Doe^Jane   ";
    spec.patientId = std::string("ID42\0\0", 6);
    std::string longText;
    while (longText.size() < 3000) longText += "\xC3\xA9";  // é, two bytes each
    spec.studyDescription = longText;
    const InstanceFields f = accepted(parse(makePart10(spec)));
    CHECK(f.patientName == "Doe^Jane");
    CHECK(f.patientId == "ID42");
    CHECK(f.studyDescription.size() == kMaxTextBytes);
    CHECK(isValidUtf8(f.studyDescription));
    requireCleanText(f);
}

TEST_CASE("objects parse the same from several threads at once", "[instance][threads]") {
    std::vector<Bytes> objects;
    std::vector<InstanceFields> expected;
    const E_TransferSyntax xfers[] = {EXS_LittleEndianExplicit, EXS_LittleEndianImplicit,
                                      EXS_DeflatedLittleEndianExplicit, EXS_JPEG2000LosslessOnly};
    for (int i = 0; i < 8; ++i) {
        ObjectSpec spec;
        spec.specificCharacterSet = i % 2 == 0 ? "ISO_IR 100" : "ISO_IR 192";
        spec.patientName = i % 2 == 0 ? "Lef\xE8vre^Am\xE9lie" : "M\xC3\xBCller^J\xC3\xBCrgen";
        spec.sopInstanceUid = "2.25.1000" + std::to_string(i);
        objects.push_back(makePart10(spec, xfers[i % 4]));
        expected.push_back(accepted(parse(objects.back())));
    }
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int n = 0; n < 50; ++n) {
                const std::size_t i = static_cast<std::size_t>((t + n) % 8);
                const auto r = parse(objects[i]);
                const auto* f = std::get_if<InstanceFields>(&r);
                if (f == nullptr || f->patientName != expected[i].patientName ||
                    f->datasetSha256 != expected[i].datasetSha256)
                    ++mismatches;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(mismatches == 0);
}

TEST_CASE("UID syntax follows PS3.5 9.1", "[uid]") {
    const auto [uid, valid] = GENERATE(table<std::string, bool>({
        {"1.2.840.10008.1.2.1", true},
        {"0", true},
        {"1.0.2", true},
        {"2.25.318215337150521458339138093612436735611", true},
        {"1." + std::string(62, '2'), true},   // 64 characters
        {"1." + std::string(63, '2'), false},  // 65
        {"", false},
        {".", false},
        {"1.", false},
        {".1", false},
        {"1..2", false},
        {"1.02", false},
        {"00", false},
        {"1.2.a", false},
        {"1.2 ", false},
        {" 1.2", false},
        {std::string("1.2\0", 4), false},
        {"1,2", false},
        {"-1.2", false},
    }));
    CAPTURE(uid);
    CHECK(isValidUid(uid) == valid);
}

TEST_CASE("every reject reason has its own name", "[reasons]") {
    const RejectReason all[] = {RejectReason::not_dicom,   RejectReason::truncated,
                                RejectReason::malformed,   RejectReason::missing_uid,
                                RejectReason::invalid_uid, RejectReason::too_large,
                                RejectReason::unsupported, RejectReason::is_dicomdir};
    std::set<std::string_view> names;
    for (RejectReason r : all) names.insert(toString(r));
    CHECK(names.size() == std::size(all));
    CHECK(toString(RejectReason::is_dicomdir) == "is_dicomdir");
    CHECK(toString(RejectReason::not_dicom) == "not_dicom");
}
