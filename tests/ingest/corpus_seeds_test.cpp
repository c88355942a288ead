// Writes the seed corpus of fuzz/ingest_instance_fuzz.cpp. Every run writes it
// to a temporary directory and checks that each seed goes through the parser;
// to refresh the committed corpus:
//
//   SEALPORT_INGEST_SEED_DIR=fuzz/corpus/ingest_instance build/tests/ingest_tests "write the fuzz seed corpus"
//
// Two kinds of seeds: whole Part 10 objects, and "ds-*" inputs whose first
// byte picks the transfer syntax the harness wraps the remaining bytes (a bare
// dataset) in. All synthetic; small, so that the fuzzer mutates them quickly.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ingest_test_support.hpp"
#include "temp_dir.hpp"

using namespace sealport::ingest;
using namespace sealport::ingest::test;

namespace {

ObjectSpec small() {
    ObjectSpec s;
    s.rows = s.columns = 2;
    return s;
}

// The harness wraps datasets with SOP Class 1.2.840.10008.5.1.4.1.1.7 and
// SOP Instance 1.2.3.4.5; its first byte picks one of these syntaxes.
Bytes datasetSeed(std::uint8_t tsIndex, E_TransferSyntax xfer, ObjectSpec spec = small()) {
    spec.sopClassUid = UID_SecondaryCaptureImageStorage;
    spec.sopInstanceUid = "1.2.3.4.5";
    const Bytes whole = makePart10(spec, xfer);
    Bytes seed{tsIndex};
    seed.insert(seed.end(), whole.begin() + static_cast<std::ptrdiff_t>(metaEnd(whole)), whole.end());
    return seed;
}

}  // namespace

TEST_CASE("write the fuzz seed corpus", "[seeds]") {
    sealport::testing::TempDir scratch("sealport-seeds");
    const char* env = std::getenv("SEALPORT_INGEST_SEED_DIR");
    const std::filesystem::path dir = env != nullptr ? std::filesystem::path(env) : scratch.path();
    std::filesystem::create_directories(dir);
    const auto write = [&](const std::string& name, const Bytes& b) {
        std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
        REQUIRE(out.good());
        // Whole objects go through the parser without throwing, accepted or refused with a reason.
        if (name.rfind("ds-", 0) != 0) {
            const auto r = parseInstance(b, kTestMaxBytes);
            if (const auto* rej = std::get_if<Rejection>(&r)) CHECK_FALSE(rej->detail.empty());
        }
    };
    const auto withSpec = [](auto change, E_TransferSyntax xfer = EXS_LittleEndianExplicit) {
        ObjectSpec s = small();
        change(s);
        return makePart10(s, xfer);
    };

    write("valid-explicit-le", makePart10(small(), EXS_LittleEndianExplicit));
    write("valid-implicit-le", makePart10(small(), EXS_LittleEndianImplicit));
    write("valid-explicit-be", makePart10(small(), EXS_BigEndianExplicit));
    write("valid-deflated", makePart10(small(), EXS_DeflatedLittleEndianExplicit));
    write("valid-jpeg2000", makePart10(small(), EXS_JPEG2000LosslessOnly));
    write("valid-rle", makePart10(small(), EXS_RLELossless));
    {
        auto ff = makeObject(small());
        EncodeOptions opt;
        opt.encoding = EET_UndefinedLength;
        write("valid-undefined-length-sequences", encode(*ff, EXS_LittleEndianImplicit, opt));
    }
    write("valid-latin1-name", withSpec([](ObjectSpec& s) {
              s.specificCharacterSet = "ISO_IR 100";
              s.patientName = "Lef\xE8vre^Am\xE9lie";
          }));
    write("valid-utf8-name", withSpec([](ObjectSpec& s) { s.patientName = "M\xC3\xBCller^J\xC3\xBCrgen"; }));
    write("valid-greek-name", withSpec([](ObjectSpec& s) {
              s.specificCharacterSet = "ISO_IR 126";
              s.patientName = asString(fromHex("C4E9EFEDF5F3E9EFF2"));
          }));
    write("valid-iso2022-ir149-name", withSpec([](ObjectSpec& s) {
              s.specificCharacterSet = "\\ISO 2022 IR 149";
              s.patientName = asString(fromHex("486F6E675E47696C646F6E673D1B242943FBF35E1B242943D1CED4D7"));
          }));
    write("valid-iso2022-ir87-name", withSpec([](ObjectSpec& s) {
              s.specificCharacterSet = "ISO 2022 IR 13\\ISO 2022 IR 87";
              s.patientName = asString(fromHex("59616D6164613D1B24423B3345441B2842"));
          }));
    write("valid-gb18030-name", withSpec([](ObjectSpec& s) {
              s.specificCharacterSet = "GB18030";
              s.patientName = asString(fromHex("CDF55ED0A1B6AB"));
          }));
    write("valid-no-charset-8bit-name", withSpec([](ObjectSpec& s) {
              s.specificCharacterSet.reset();
              s.patientName = "M\xFCller";
          }));
    write("valid-nested-20", nestedSequences(20));
    {
        Bytes b = makePart10(small());
        b.erase(b.begin() + 132, b.begin() + 144);
        write("valid-no-group-length", b);
        Bytes lie = makePart10(small());
        lie[140] = static_cast<std::uint8_t>(lie[140] + 6);
        write("valid-group-length-lies", lie);
    }
    {
        auto ff = makeObject(small());
        check(ff->getMetaInfo()->putAndInsertString(DCM_PrivateInformationCreatorUID, "2.25.42"), "pic");
        const Uint8 info[] = {1, 2, 3};
        check(ff->getMetaInfo()->putAndInsertUint8Array(DCM_PrivateInformation, info, 3), "pi");
        write("valid-private-meta", encode(*ff, EXS_LittleEndianExplicit));
    }
    write("reject-dicomdir-meta", handMadeMeta(UID_MediaStorageDirectoryStorage, "1.2.3", "1.2.840.10008.1.2.1"));
    {
        const Bytes b = makePart10(small());
        write("reject-truncated", Bytes(b.begin(), b.end() - 3));
    }
    write("reject-unknown-ts", [] {
        Bytes b = handMadeMeta(UID_SecondaryCaptureImageStorage, "2.25.7", "1.2.3.4.5.6");
        implicitRequiredUidsHead(b, UID_SecondaryCaptureImageStorage, "2.25.7");
        implicitRequiredUidsTail(b);
        return b;
    }());
    write("reject-bad-study-uid", withSpec([](ObjectSpec& s) { s.studyUid = "1.2.03"; }));

    // Regression: 10,000 nested sequences overflowed DCMTK 3.6.7's stack.
    write("crash-dcmtk-sequence-recursion-10000-deep", nestedSequences(10'000));

    // Bare datasets for the harness to wrap (first byte: transfer syntax index).
    write("ds-implicit-le", datasetSeed(0, EXS_LittleEndianImplicit));
    write("ds-explicit-le", datasetSeed(1, EXS_LittleEndianExplicit));
    write("ds-explicit-be", datasetSeed(2, EXS_BigEndianExplicit));
    write("ds-deflated", datasetSeed(3, EXS_DeflatedLittleEndianExplicit));
    write("ds-jpeg2000", datasetSeed(4, EXS_JPEG2000LosslessOnly));
    write("ds-rle", datasetSeed(5, EXS_RLELossless));
    {
        // A deflated dataset that inflates past the harness's 1 MiB limit.
        ObjectSpec s = small();
        s.sopClassUid = UID_SecondaryCaptureImageStorage;
        s.sopInstanceUid = "1.2.3.4.5";
        auto ff = makeObject(s);
        std::vector<Uint16> zeros(700 * 1024);
        check(ff->getDataset()->putAndInsertUint16Array(DCM_PixelData, zeros.data(),
                                                        static_cast<unsigned long>(zeros.size())),
              "zeros");
        const Bytes whole = encode(*ff, EXS_DeflatedLittleEndianExplicit);
        Bytes seed{3};
        seed.insert(seed.end(), whole.begin() + static_cast<std::ptrdiff_t>(metaEnd(whole)), whole.end());
        write("ds-deflate-bomb", seed);
    }
    {
        // Implicit VR: a UN-like private value that starts with an item tag.
        Bytes seed{0};
        implicitRequiredUidsHead(seed, UID_SecondaryCaptureImageStorage, "1.2.3.4.5");
        Bytes item;
        implicitElement(item, 0x0009, 0x1001, "ABCD");
        put16le(seed, 0x0009);
        put16le(seed, 0x0010);
        put32le(seed, 8);
        seed.insert(seed.end(), {'S', 'E', 'A', 'L', 'P', 'O', 'R', 'T'});
        put16le(seed, 0x0009);
        put16le(seed, 0x1010);
        put32le(seed, static_cast<std::uint32_t>(item.size() + 8));
        put16le(seed, 0xFFFE);
        put16le(seed, 0xE000);
        put32le(seed, static_cast<std::uint32_t>(item.size()));
        seed.insert(seed.end(), item.begin(), item.end());
        implicitRequiredUidsTail(seed);
        write("ds-implicit-private-sequence", seed);
    }
}
