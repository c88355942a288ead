// README.TXT of a file-set: plain ASCII with CRLF line ends, as on media read
// by any operating system's text viewer.

#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sealport/media/fileset.hpp"

namespace sealport::media {
namespace {

constexpr std::size_t kWidth = 78;

// Printable ASCII only: no control characters (no line breaks injected through
// a configured name), anything else as '?'.
std::string ascii(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7F) {
            out.push_back(static_cast<char>(c));
        } else if (c >= 0xC0) {
            out.push_back('?');  // one '?' for a UTF-8 sequence, not one per byte
            while (i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80)
                ++i;
        } else if (c == '\t') {
            out.push_back(' ');
        } else {
            out.push_back('?');
        }
    }
    return out;
}

class Text {
  public:
    void line(std::string_view s = {}) {
        out_.append(s);
        out_.append("\r\n");
    }

    // Word-wraps `text` at kWidth with `indent` spaces before every line.
    void paragraph(std::string_view text, std::size_t indent = 0) {
        const std::string pad(indent, ' ');
        std::string current = pad;
        std::size_t i = 0;
        while (i < text.size()) {
            while (i < text.size() && text[i] == ' ')
                ++i;
            const std::size_t end = std::min(text.find(' ', i), text.size());
            std::string_view word = text.substr(i, end - i);
            i = end;
            if (word.empty())
                break;
            // A word longer than a line (a URL) is cut rather than overflowing.
            while (word.size() > kWidth - indent) {
                if (current.size() > indent) {
                    line(current);
                    current = pad;
                }
                line(pad + std::string(word.substr(0, kWidth - indent)));
                word.remove_prefix(kWidth - indent);
            }
            if (word.empty())
                continue;
            if (current.size() > indent && current.size() + 1 + word.size() > kWidth) {
                line(current);
                current = pad;
            }
            if (current.size() > indent)
                current.push_back(' ');
            current.append(word);
        }
        if (current.size() > indent)
            line(current);
    }

    void heading(std::string_view title) {
        line();
        line(title);
        line(std::string(title.size(), '-'));
    }

    // "Label:     value", the value wrapped under itself.
    void field(std::string_view label, std::string_view value) {
        constexpr std::size_t kLabel = 13;
        std::string head = "  " + std::string(label);
        head.resize(kLabel, ' ');
        Text wrapped;
        wrapped.paragraph(value.empty() ? "(not given)" : value, kLabel);
        std::string body = wrapped.str();
        body.replace(0, kLabel, head);
        out_.append(body);
    }

    [[nodiscard]] const std::string& str() const noexcept { return out_; }

  private:
    std::string out_;
};

std::string count(std::size_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace

std::string readmeText(const ReadmeFacts& facts) {
    const bool media = facts.origin == kOriginSealedMedia;
    if (!media && facts.origin != kOriginLinkDownload)
        throw std::invalid_argument(
            "readmeText: origin must be \"link download\" or \"sealed media\"");

    std::vector<std::string> modalities;
    for (const auto& m : facts.modalities)
        if (const std::string a = ascii(m);
            !a.empty() && std::find(modalities.begin(), modalities.end(), a) == modalities.end())
            modalities.push_back(a);
    std::string modalityList;
    for (const auto& m : modalities)
        modalityList += (modalityList.empty() ? "" : ", ") + m;

    Text t;
    t.line("DICOM IMAGES - READ ME");
    t.line("======================");
    t.line();
    std::string what = std::string(media ? "This medium" : "This ZIP archive") +
                       " holds medical images and documents in DICOM format: " +
                       count(facts.studies, "study", "studies") + ", " +
                       count(facts.series, "series", "series") + ", " +
                       count(facts.images, "image or document", "images and documents");
    if (!modalityList.empty())
        what += " (" + modalityList + ")";
    what += ", indexed by a DICOMDIR file as DICOM PS3.10 and PS3.12 describe.";
    t.paragraph(what);

    t.heading("CONTENTS");
    t.line("  DICOMDIR     the index of every file: patients, studies, series, images");
    t.line("  README.TXT   this text");
    if (media)
        t.line("  INDEX.HTM    the list of studies, to read in a web browser");
    t.line("  DICOM/       the DICOM files, one folder per patient, study and series");
    if (facts.signedManifest)
        t.line("  SEALPORT/    the signed list of every file (see INTEGRITY)");

    t.heading("HOW TO OPEN");
    if (!media)
        t.paragraph("Unpack the whole archive first and keep its folders as they are.", 2);
    t.paragraph(
        "Open DICOMDIR with a DICOM viewer: most have a command such as \"Open DICOMDIR\", "
        "\"Import from "
        "CD/DVD/USB\" or \"Open folder\". The files in DICOM/ have no file name extension; a "
        "viewer finds them "
        "through DICOMDIR, which names each file by its path, so do not rename or move them.",
        2);
    t.line();
    t.paragraph(
        "Names and other details of the patient are in DICOMDIR and in the DICOM files, not in "
        "this text. They "
        "are personal health information: keep them safe and delete copies that are no longer "
        "needed.",
        2);

    t.heading("WHO MADE IT");
    t.field("Made by:", ascii(facts.producer));
    t.field("Software:", "sealport " + ascii(facts.version));
    t.field("Created:", ascii(facts.createdUtc));
    t.field("Delivered:", media ? "on sealed media" : "as a link download");

    t.heading("INTEGRITY");
    if (facts.signedManifest) {
        t.paragraph(
            "SEALPORT/MANIFEST.JSN lists the SHA-256 digest of every file. SEALPORT/MANIFEST.SIG "
            "is the Ed25519 "
            "signature of MANIFEST.JSN, made with the key whose public half is "
            "SEALPORT/SIGNER.PEM.",
            2);
        t.line();
        t.paragraph("To check every file against the signed list, run:", 2);
        t.line("    sealportctl verify-media <folder where this medium is mounted or copied>");
        t.paragraph(
            "It prints the fingerprint of the signing key: compare it with the one the hospital "
            "publishes for "
            "this appliance. A signature only proves who made the list if the key is the right "
            "one.",
            2);
    } else if (media) {
        t.paragraph(
            "This medium carries no signed list of its files, so nothing on it lets you check "
            "later that the files "
            "are unchanged.",
            2);
    } else {
        t.paragraph(
            "This ZIP archive is not signed. It was protected on its way to you by the HTTPS "
            "connection it was "
            "downloaded over; nothing inside it lets you check later that the files are unchanged.",
            2);
    }

    t.heading("NOTES");
    t.paragraph(
        "The DICOM files are exactly as the appliance received them. Where one lacked a value that "
        "DICOMDIR "
        "requires (a patient or study ID, a study date, a series or instance number), the DICOMDIR "
        "entry holds a "
        "placeholder: an ID such as DCMTKSTUDY000000, a counted number, or the date 19000101.",
        2);
    return t.str();
}

}  // namespace sealport::media
