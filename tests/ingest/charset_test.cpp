#include "ingest_test_support.hpp"

using namespace sealport::ingest;
using namespace sealport::ingest::test;

namespace {

// The object with `name` as Patient's Name (and, in PN and LO flavours, as
// Referring Physician's Name and Study Description), stored as these bytes.
InstanceFields parseWithName(const std::optional<std::string>& charset, const std::string& nameBytes,
                             E_TransferSyntax xfer = EXS_LittleEndianExplicit) {
    ObjectSpec spec;
    spec.specificCharacterSet = charset;
    spec.patientName = nameBytes;
    spec.referringPhysician = nameBytes;
    spec.studyDescription = nameBytes;
    const InstanceFields f = accepted(parse(makePart10(spec, xfer)));
    requireCleanText(f);
    return f;
}

}  // namespace

TEST_CASE("names come out as UTF-8 in the character set the object declares", "[charset]") {
    // Bytes as each character set encodes them (made with Python's codecs),
    // and the text they stand for.
    const auto [charset, hex, utf8] = GENERATE(table<std::string, std::string, std::string>({
        {"ISO_IR 100", "4C6566E87672655E416DE96C6965", "Lefèvre^Amélie"},
        {"ISO_IR 101", "44766FF8E16B5E416E746F6EED6E", "Dvořák^Antonín"},
        {"ISO_IR 109", "D575BF657070695E426F72F5", "Ġużeppi^Borġ"},
        {"ISO_IR 110", "D3BA6E69F1B95E4AE06E6973", "Ķēniņš^Jānis"},
        {"ISO_IR 144", "B8D2D0DDDED25EBFF1E2E0", "Иванов^Пётр"},
        {"ISO_IR 127", "E2C8C7E6EA5EE4E6D2C7D1", "قباني^لنزار"},
        {"ISO_IR 126", "C4E9EFEDF5F3E9EFF25EC2E1F3DFEBE7F2", "Διονυσιος^Βασίλης"},
        {"ISO_IR 138", "F9F8E5EF5EE3E1E5F8E4", "שרון^דבורה"},
        {"ISO_IR 148", "C761F06C61725EDEFC6B72FC", "Çağlar^Şükrü"},
        {"ISO_IR 166", "CAC1AAD2C25EE3A8B4D5", "สมชาย^ใจดี"},
        {"ISO_IR 13", "D4CFC0DE5EC0DBB3", "ﾔﾏﾀﾞ^ﾀﾛｳ"},
        {"ISO_IR 192", "4DC3BC6C6C65725E4AC3BC7267656E", "Müller^Jürgen"},
        {"ISO_IR 192",
         "E78E8B5EE5B08FE4B89C3DE3818AE381865EE38197E38287E38186E381A8E38186",
         "王^小东=おう^しょうとう"},
        {"GB18030", "CDF55ED0A1B6AB", "王^小东"},
        {"GBK", "CDF55ED0A1B6AB", "王^小东"},
        // Latin-9 postdates DCMTK 3.6.7's table; converted through its iconv wrapper.
        {"ISO_IR 203", "4C BD 75 69 6C 6C 65 74 5E 41 A4", "Lœuillet^A€"},
        // ISO 2022 code extensions (the PS3.5 Annex I example)
        {"\\ISO 2022 IR 149",
         "486F6E675E47696C646F6E673D1B242943FBF35E1B242943D1CED4D73D1B242943C8AB5E1B242943B1E6"
         "B5BF",
         "Hong^Gildong=洪^吉洞=홍^길동"},
    }));
    CAPTURE(charset, utf8);
    const InstanceFields f = parseWithName(charset, asString(fromHex(hex)));
    CHECK(f.patientName == utf8);
    CHECK(f.referringPhysician == utf8);
    CHECK(f.studyDescription == utf8);
}

TEST_CASE("character sets convert the same in every transfer syntax", "[charset]") {
    const E_TransferSyntax xfer = GENERATE(EXS_LittleEndianImplicit, EXS_BigEndianExplicit,
                                           EXS_DeflatedLittleEndianExplicit, EXS_JPEG2000LosslessOnly);
    CHECK(parseWithName("ISO_IR 100", "Lef\xE8vre^Am\xE9lie", xfer).patientName == "Lefèvre^Amélie");
    CHECK(parseWithName("ISO_IR 192", "M\xC3\xBCller^J\xC3\xBCrgen", xfer).patientName ==
          "Müller^Jürgen");
    CHECK(parseWithName("ISO_IR 126", asString(fromHex("C4E9EFEDF5F3E9EFF2")), xfer).patientName ==
          "Διονυσιος");
}

TEST_CASE("plain ASCII needs no declared character set", "[charset]") {
    CHECK(parseWithName(std::nullopt, "Smith^John").patientName == "Smith^John");
    CHECK(parseWithName("", "Smith^John").patientName == "Smith^John");
    CHECK(parseWithName("ISO_IR 6", "Smith^John").patientName == "Smith^John");
}

// A value that does not convert still yields clean text, and the object is
// still accepted: it is stored byte-exact whatever the catalogue makes of it.
TEST_CASE("text that does not convert is replaced, never a reason to reject", "[charset]") {
    const auto [charset, bytes, expected] =
        GENERATE(table<std::optional<std::string>, std::string, std::string>({
            // 8-bit bytes without a declared character set: not ASCII, so not guessed.
            {std::nullopt, "M\xFCller^J\xFCrgen", "M\xEF\xBF\xBDller^J\xEF\xBF\xBDrgen"},
            // Declared UTF-8 that is not: an overlong slash, a lone continuation, a surrogate.
            {"ISO_IR 192", "A\xC0\xAF" "B\x80" "C\xED\xA0\x80" "D",
             "A\xEF\xBF\xBD\xEF\xBF\xBD" "B\xEF\xBF\xBD" "C\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "D"},
            // A character set nobody defined: ASCII survives, the rest is marked.
            {"ISO_IR 999", "Lef\xE8vre", "Lef\xEF\xBF\xBDvre"},
            // Garbage where the character set belongs.
            {"\xFF\xFE", "Lef\xE8vre", "Lef\xEF\xBF\xBDvre"},
            // ISO 2022 escapes without the code extension declared: the escapes
            // go, the two-byte characters are marked, the ASCII around them stays.
            {"ISO_IR 100", "Yamada=\x1B$B;3ED\x1B(B", "Yamada=\xEF\xBF\xBD\xEF\xBF\xBD"},
            // Control characters (a terminal escape, a NUL, a C1 byte in Latin-1).
            {"ISO_IR 100", "Evil\x1B[31mName\x85", "Evil\xEF\xBF\xBD[31mName\xEF\xBF\xBD"},
            {"ISO_IR 192", std::string("A\0B", 3), "A\xEF\xBF\xBD" "B"},
        }));
    CAPTURE(bytes);
    const InstanceFields f = parseWithName(charset, bytes);
    CHECK(f.patientName == expected);
}

// DCMTK 3.6.7 with glibc iconv cannot open JIS X 0208 (ISO 2022 IR 87) or
// JIS X 0212 (IR 159): Japanese kanji and kana come out as one U+FFFD each,
// the romanized name survives. (The PS3.5 Annex H example.)
TEST_CASE("Japanese ISO 2022 IR 87 is beyond this DCMTK build: the ASCII part survives", "[charset]") {
    const std::string bytes = asString(fromHex(
        "59616D6164615E5461726F753D1B24423B3345441B28425E1B244242404F3A1B28423D1B24422464245E"
        "24401B28425E1B2442243F246D24261B2842"));
    const std::string r = "\xEF\xBF\xBD";
    CHECK(parseWithName("\\ISO 2022 IR 87", bytes).patientName ==
          "Yamada^Tarou=" + r + r + "^" + r + r + "=" + r + r + r + "^" + r + r + r);
    CHECK(parseWithName("ISO 2022 IR 13\\ISO 2022 IR 87", bytes).patientName.rfind("Yamada^Tarou=", 0) == 0);
}

TEST_CASE("ISO 2022 text that DCMTK cannot convert falls back without losing ASCII", "[charset]") {
    // A G0 designation for a set not declared in (0008,0005): DCMTK refuses the value.
    const InstanceFields f =
        parseWithName("\\ISO 2022 IR 87", "Tanaka^\x1B$(DXYZ\x1B(B=Ok");
    CHECK(f.patientName.rfind("Tanaka^", 0) == 0);
    CHECK(f.patientName.find("=Ok") != std::string::npos);
}
