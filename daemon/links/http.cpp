#include "sealport/links/http.hpp"

#include <algorithm>
#include <cctype>

namespace sealport::links {

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
    const auto same = [&](const std::string& h) {
        return h.size() == name.size() && std::equal(h.begin(), h.end(), name.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
               });
    };
    for (const auto& [k, v] : headers)
        if (same(k)) return std::string_view(v);
    return std::nullopt;
}

}  // namespace sealport::links
