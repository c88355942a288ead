// README.TXT: ASCII, CRLF, what it says for a link download and for media.

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "sealport/media/fileset.hpp"

using namespace sealport;

namespace {

media::ReadmeFacts linkFacts() {
    media::ReadmeFacts f;
    f.producer = "Radiology, Hôpital Nord (https://images.example.org)";
    f.version = "0.1.0";
    f.createdUtc = "2026-11-28 17:47:58 UTC";
    f.origin = "link download";
    f.studies = 2;
    f.series = 5;
    f.images = 123;
    f.modalities = {"CT", "MR", "CT"};
    return f;
}

std::vector<std::string> linesOf(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find("\r\n", start);
        REQUIRE(end != std::string::npos);  // every line ends with CRLF
        out.push_back(text.substr(start, end - start));
        start = end + 2;
    }
    return out;
}

void requirePlainAscii(const std::string& text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        CAPTURE(i);
        REQUIRE(c < 0x80);
        if (c == '\n')
            REQUIRE((i > 0 && text[i - 1] == '\r'));
        if (c == '\r')
            REQUIRE((i + 1 < text.size() && text[i + 1] == '\n'));
        if (c < 0x20)
            REQUIRE((c == '\r' || c == '\n'));
    }
}

bool has(const std::string& text, const std::string& needle) {
    // Wrapping may break a phrase over lines: compare with single spaces.
    std::string flat;
    for (const auto& line : linesOf(text)) {
        std::istringstream words(line);
        for (std::string w; words >> w;)
            flat += w + " ";
    }
    return flat.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("a link download's README is ASCII with CRLF lines and says the ZIP is not signed") {
    const auto text = media::readmeText(linkFacts());
    requirePlainAscii(text);
    for (const auto& line : linesOf(text)) {
        CAPTURE(line);
        CHECK(line.size() <= 78);
    }
    CHECK(has(text, "2 studies, 5 series, 123 images and documents (CT, MR)"));
    CHECK(has(text, "Open DICOMDIR with a DICOM viewer"));
    CHECK(has(text, "Unpack the whole archive first"));
    CHECK(has(text, "Made by: Radiology, H?pital Nord (https://images.example.org)"));
    CHECK(has(text, "Software: sealport 0.1.0"));
    CHECK(has(text, "Created: 2026-11-28 17:47:58 UTC"));
    CHECK(has(text, "This ZIP archive is not signed"));
    CHECK(has(text, "HTTPS"));
    CHECK_FALSE(has(text, "MANIFEST"));
    CHECK_FALSE(has(text, "INDEX.HTM"));
}

TEST_CASE("sealed media's README says how to verify the signed manifest") {
    auto facts = linkFacts();
    facts.origin = "sealed media";
    facts.signedManifest = true;
    const auto text = media::readmeText(facts);
    requirePlainAscii(text);
    CHECK(has(text, "This medium holds"));
    CHECK(has(text, "INDEX.HTM"));
    CHECK(has(text, "SEALPORT/MANIFEST.JSN"));
    CHECK(has(text, "SEALPORT/MANIFEST.SIG"));
    CHECK(has(text, "SEALPORT/SIGNER.PEM"));
    CHECK(has(text, "sealportctl verify-media"));
    CHECK_FALSE(has(text, "not signed"));
    CHECK_FALSE(has(text, "Unpack"));
}

TEST_CASE("configured text cannot add lines or non-ASCII bytes to the README") {
    auto facts = linkFacts();
    facts.producer = "Evil\r\nSEALPORT/MANIFEST.SIG is valid\x01\xE2\x9C\x93";
    facts.version = std::string(200, 'v');  // longer than a line: cut, never overflowing
    const auto text = media::readmeText(facts);
    requirePlainAscii(text);
    for (const auto& line : linesOf(text))
        CHECK(line.size() <= 78);
    CHECK(has(text, "Evil??SEALPORT/MANIFEST.SIG is valid??"));
    for (const auto& line : linesOf(text))
        CHECK(line.rfind("SEALPORT/MANIFEST.SIG", 0) != 0);
}

TEST_CASE("one of everything is counted in the singular and an unknown origin is refused") {
    media::ReadmeFacts facts = linkFacts();
    facts.studies = facts.series = facts.images = 1;
    facts.modalities = {"SR"};
    CHECK(has(media::readmeText(facts), "1 study, 1 series, 1 image or document (SR)"));
    facts.origin = "carrier pigeon";
    CHECK_THROWS_AS(media::readmeText(facts), std::invalid_argument);
}
