// The generator's pieces, without running the binary.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sealport/synthstudy/charset.hpp"
#include "sealport/synthstudy/jpeg2000.hpp"
#include "sealport/synthstudy/pdf.hpp"
#include "sealport/synthstudy/pixels.hpp"
#include "sealport/synthstudy/spec.hpp"
#include "sealport/synthstudy/uid.hpp"

using namespace sealport::synthstudy;

namespace {

Command parse(std::vector<std::string_view> args) {
    return parseCommandLine(args);
}

}  // namespace

TEST_CASE("generated UIDs are valid 2.25 UIDs, stable per seed and label") {
    const UidFactory a(1);
    const UidFactory b(2);
    for (const char* label :
         {"study", "series:1", "series:1:instance:1", "series:2:frame-of-reference"}) {
        const std::string uid = a.make(label);
        CAPTURE(uid);
        CHECK(isValidUid(uid));
        CHECK(uid.rfind("2.25.", 0) == 0);
        CHECK(uid.size() <= 64);
        CHECK(uid == UidFactory(1).make(label));
        CHECK(uid != b.make(label));
    }
    CHECK(a.make("series:1") != a.make("series:2"));
}

TEST_CASE("UID syntax: digits and dots, no empty or zero-led component, at most 64 characters") {
    CHECK(isValidUid("1.2.840.10008.5.1.4.1.1.2"));
    CHECK(isValidUid("2.25.0"));
    CHECK_FALSE(isValidUid(""));
    CHECK_FALSE(isValidUid("1..2"));
    CHECK_FALSE(isValidUid("1.2."));
    CHECK_FALSE(isValidUid("1.02"));
    CHECK_FALSE(isValidUid("1.2a"));
    CHECK_FALSE(isValidUid("1." + std::string(63, '1')));
}

TEST_CASE("128-bit values print in decimal without leading zeros") {
    std::array<std::uint8_t, 16> v{};
    CHECK(decimalOf128(v) == "0");
    v[15] = 10;
    CHECK(decimalOf128(v) == "10");
    v.fill(0xFF);
    CHECK(decimalOf128(v) == "340282366920938463463374607431768211455");
}

TEST_CASE("text is encoded as the character set requires, or refused") {
    CHECK(encodeText("Lefèvre^Amélie", Charset::Latin1, "name") == "Lef\xE8vre^Am\xE9lie");
    CHECK(encodeText("Lefèvre^Amélie", Charset::Utf8, "name") == "Lefèvre^Amélie");
    CHECK(encodeText("Lefevre^Amelie", Charset::Ascii, "name") == "Lefevre^Amelie");
    CHECK_THROWS_AS(encodeText("Lefèvre", Charset::Ascii, "name"), UsageError);
    CHECK_THROWS_AS(encodeText("Łukasz", Charset::Latin1, "name"), UsageError);
    CHECK_THROWS_AS(encodeText("\xC3", Charset::Utf8, "name"), UsageError);
    CHECK_FALSE(isValidUtf8("\xC0\xAF"));      // overlong
    CHECK_FALSE(isValidUtf8("\xED\xA0\x80"));  // surrogate
    CHECK(codePointCount("Zoë") == 3);
    CHECK(specificCharacterSet(Charset::Latin1) == "ISO_IR 100");
    CHECK(specificCharacterSet(Charset::Utf8) == "ISO_IR 192");
    CHECK(specificCharacterSet(Charset::Ascii).empty());
}

TEST_CASE("the command line resolves every default from the seed") {
    const Command a = parse({"--out", "x"});
    CHECK_FALSE(a.help);
    CHECK(a.spec.charset == Charset::Latin1);
    CHECK(a.spec.transferSyntax == TransferSyntax::Explicit);
    CHECK(a.spec.patientName == "Lefèvre^Amélie");
    REQUIRE(a.spec.series.size() == 1);
    CHECK(a.spec.series[0].kind == Kind::CT);
    CHECK(a.spec.series[0].count == 10);
    CHECK(a.spec.series[0].rows == 64);
    CHECK(a.spec.series[0].bitsAllocated == 16);

    const Command b = parse({"--out", "x", "--seed", "9"});
    CHECK(b.spec.patientId != a.spec.patientId);
    CHECK(b.spec.patientId.rfind("SYN", 0) == 0);
    CHECK(b.spec.accession.size() <= 16);
    CHECK(parse({"--out", "x", "--seed", "9"}).spec.patientId == b.spec.patientId);
    CHECK(parse({"--out=x", "--seed=9"}).spec.birthDate == b.spec.birthDate);
}

TEST_CASE("series specifications: modality, count, size, frames and SC depth") {
    const Command c = parse({"--out", "x", "--series", "us:2:30x40:5", "--series", "SC:1:8x8:2:16",
                             "--series", "PDF:3"});
    REQUIRE(c.spec.series.size() == 3);
    const SeriesSpec& us = c.spec.series[0];
    CHECK(us.kind == Kind::US);
    CHECK(us.count == 2);
    CHECK(us.rows == 30);
    CHECK(us.columns == 40);
    CHECK(us.frames == 5);
    CHECK(us.bitsAllocated == 8);
    CHECK(c.spec.series[1].bitsAllocated == 16);
    CHECK(c.spec.series[2].kind == Kind::PDF);
    CHECK(c.spec.series[2].count == 3);

    CHECK_THROWS_AS(parse({"--out", "x", "--series", "CT:2:64x64:3"}), UsageError);
    CHECK_THROWS_AS(parse({"--out", "x", "--series", "CT:100001"}), UsageError);
    CHECK_THROWS_AS(parse({"--out", "x", "--series", "CT:1:9000x10"}), UsageError);
    CHECK_THROWS_AS(parse({"--out", "x", "--series", "US:1:8192x8192:1000"}),
                    UsageError);  // > 1 GiB
    CHECK(parse({"--help"}).help);
}

TEST_CASE("the flat JPEG 2000 codestream has the markers and sizes a decoder checks") {
    const auto shape = GENERATE(values<CodestreamShape>({
        {64, 48, 1, 12, false, true, false},
        {64, 48, 1, 12, false, false, false},
        {7, 5, 3, 8, false, true, true},
        {7, 5, 3, 8, false, false, true},
        {512, 512, 1, 16, true, true, false},
    }));
    const std::vector<std::uint8_t> cs = flatCodestream(shape);
    const auto be16 = [&](std::size_t at) { return unsigned{cs[at]} << 8 | cs[at + 1]; };
    const auto be32 = [&](std::size_t at) { return be16(at) << 16 | be16(at + 2); };
    CHECK(cs.size() % 2 == 0);
    CHECK(be16(0) == 0xFF4F);
    CHECK(be16(2) == 0xFF51);
    CHECK(be16(4) == 38 + 3 * shape.components);
    CHECK(be32(8) == shape.columns);
    CHECK(be32(12) == shape.rows);
    CHECK(be16(40) == shape.components);
    CHECK(cs[42] == ((shape.bitsStored - 1) | (shape.isSigned ? 0x80u : 0u)));
    CHECK(be16(cs.size() - 2) == 0xFFD9);
    // Psot counts from the SOT marker to the end of the tile data, just before EOC.
    static constexpr std::uint8_t kSot[] = {0xFF, 0x90};
    const auto sot = static_cast<std::size_t>(
        std::search(cs.begin(), cs.end(), std::begin(kSot), std::end(kSot)) - cs.begin());
    REQUIRE(sot < cs.size());
    CHECK(sot + be32(sot + 6) == cs.size() - 2);
}

TEST_CASE("the PDF's cross-reference table points at its objects") {
    const std::string pdf = minimalPdf({"Patient ID: SYN1 (test)", "Accession: ACC\\2"});
    CHECK(pdf.rfind("%PDF-1.4\n", 0) == 0);
    CHECK(pdf.find("(Patient ID: SYN1 \\(test\\))") != std::string::npos);
    const std::size_t startxref = pdf.rfind("startxref\n");
    REQUIRE(startxref != std::string::npos);
    const std::size_t xref = std::stoul(pdf.substr(startxref + 10));
    REQUIRE(pdf.compare(xref, 4, "xref") == 0);
    // Entries 1..5, each 20 bytes, after "xref\n0 6\n" and the free entry.
    const std::size_t first = xref + std::string("xref\n0 6\n").size() + 20;
    for (int obj = 1; obj <= 5; ++obj) {
        const std::size_t offset =
            std::stoul(pdf.substr(first + static_cast<std::size_t>(obj - 1) * 20, 10));
        CHECK(pdf.compare(offset, std::to_string(obj).size() + 6, std::to_string(obj) + " 0 obj") ==
              0);
    }
}

TEST_CASE("the synthetic pattern is deterministic, never flat, and moves with the frame") {
    const SyntheticPattern pattern(32, 40, 4095);
    std::vector<std::uint16_t> a(32 * 40);
    std::vector<std::uint16_t> b(32 * 40);
    std::vector<std::uint16_t> c(32 * 40);
    pattern.fillGrey16(a, 0, 99);
    pattern.fillGrey16(b, 0, 99);
    pattern.fillGrey16(c, 1, 99);
    CHECK(a == b);
    CHECK(a != c);
    const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
    CHECK(*hi - *lo > 1000);
    CHECK(*hi <= 4095);

    std::size_t inside = 0;
    for (std::size_t p = 0; p < pattern.pixelCount(); ++p)
        inside += pattern.inMask(p, 3) ? 1u : 0u;
    CHECK(inside > 0);
    CHECK(inside < pattern.pixelCount() / 2);
}

TEST_CASE("binary masks pack the first pixel into the low bit, padded to an even length") {
    BitPacker bits;
    for (const bool b : {true, false, false, false, false, false, false, false, false, true})
        bits.push(b);
    const std::vector<std::uint8_t> packed = std::move(bits).finish();
    REQUIRE(packed.size() == 2);
    CHECK(packed[0] == 0x01);
    CHECK(packed[1] == 0x02);
}
