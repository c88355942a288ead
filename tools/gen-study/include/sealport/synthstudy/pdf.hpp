#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sealport::synthstudy {

// A one-page PDF 1.4 document with the given ASCII lines in Helvetica, with a
// correct cross-reference table. Non-ASCII bytes are replaced by '?'.
std::string minimalPdf(const std::vector<std::string>& lines);

}  // namespace sealport::synthstudy
