#include "sealport/synthstudy/pdf.hpp"

#include <cstdio>

namespace sealport::synthstudy {
namespace {

std::string pdfString(std::string_view text) {
    std::string out = "(";
    for (const char c : text) {
        if (c == '(' || c == ')' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
            out.push_back('?');
        } else {
            out.push_back(c);
        }
    }
    out.push_back(')');
    return out;
}

std::string xrefEntry(std::size_t offset) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%010zu 00000 n \n", offset);
    return buf;
}

}  // namespace

std::string minimalPdf(const std::vector<std::string>& lines) {
    std::string content = "BT\n/F1 14 Tf\n16 TL\n72 770 Td\n";
    for (const auto& line : lines)
        content += pdfString(line) + " Tj T*\n";
    content += "ET\n";

    const std::vector<std::string> objects = {
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> "
        ">> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "endstream",
    };

    // The second line marks the file as binary for transfer tools (PDF 7.5.2).
    std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const std::size_t xref = pdf.size();
    pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n";
    pdf += "0000000000 65535 f \n";
    for (const auto off : offsets)
        pdf += xrefEntry(off);
    pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\n";
    pdf += "startxref\n" + std::to_string(xref) + "\n%%EOF\n";
    return pdf;
}

}  // namespace sealport::synthstudy
