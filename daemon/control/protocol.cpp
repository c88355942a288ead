#include "sealport/control/protocol.hpp"

#include "sealport/core/json_depth.hpp"

namespace sealport::control {

std::vector<std::uint8_t> encodeFrame(std::string_view body) {
    const auto n = static_cast<std::uint32_t>(body.size());
    std::vector<std::uint8_t> out;
    out.reserve(kFrameHeaderSize + body.size());
    out.push_back(static_cast<std::uint8_t>(n >> 24));
    out.push_back(static_cast<std::uint8_t>(n >> 16));
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n));
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

std::variant<std::size_t, FrameHeaderError> decodeFrameHeader(
    std::span<const std::uint8_t, kFrameHeaderSize> h, std::size_t maxBody) {
    const std::uint32_t n = (std::uint32_t{h[0]} << 24) | (std::uint32_t{h[1]} << 16) |
                            (std::uint32_t{h[2]} << 8) | std::uint32_t{h[3]};
    if (n == 0) return FrameHeaderError{"empty message"};
    if (n > maxBody)
        return FrameHeaderError{"message of " + std::to_string(n) + " bytes exceeds the limit of " +
                                std::to_string(maxBody)};
    return std::size_t{n};
}

namespace {

bool validCommand(const std::string& c) {
    if (c.empty() || c.size() > kMaxCommandLength) return false;
    if (c.front() == ' ' || c.back() == ' ') return false;
    char prev = ' ';
    for (char ch : c) {
        const bool word = (ch >= 'a' && ch <= 'z') || ch == '-';
        if (!word && ch != ' ') return false;
        if (ch == ' ' && prev == ' ') return false;
        prev = ch;
    }
    return true;
}

}  // namespace

std::variant<Request, RequestError> parseRequest(std::string_view body) {
    if (core::jsonNestedDeeperThan(body, kMaxNestingDepth))
        return RequestError{"request is nested deeper than " + std::to_string(kMaxNestingDepth) + " levels"};
    // No exceptions from the parser on bad input.
    nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded()) return RequestError{"request is not valid JSON"};
    if (!j.is_object()) return RequestError{"request must be a JSON object"};
    for (const auto& [key, value] : j.items()) {
        if (key != "command" && key != "args")
            return RequestError{"unknown request field '" + key.substr(0, 32) + (key.size() > 32 ? "...'" : "'")};
    }
    auto cmd = j.find("command");
    if (cmd == j.end() || !cmd->is_string()) return RequestError{"request needs a string 'command'"};
    Request r;
    r.command = cmd->get<std::string>();
    if (!validCommand(r.command)) return RequestError{"malformed command name"};
    auto args = j.find("args");
    if (args != j.end()) {
        if (!args->is_object()) return RequestError{"'args' must be a JSON object"};
        r.args = std::move(*args);
    }
    return r;
}

std::string_view toString(ErrorKind k) noexcept {
    switch (k) {
        case ErrorKind::bad_request: return "bad_request";
        case ErrorKind::unknown_command: return "unknown_command";
        case ErrorKind::refused: return "refused";
        case ErrorKind::invalid_argument: return "invalid_argument";
        case ErrorKind::not_found: return "not_found";
        case ErrorKind::unavailable: return "unavailable";
        case ErrorKind::conflict: return "conflict";
        case ErrorKind::internal: return "internal";
    }
    return "internal";
}

nlohmann::json okResponse(nlohmann::json result) {
    return nlohmann::json{{"ok", true}, {"result", std::move(result)}};
}

nlohmann::json errorResponse(ErrorKind kind, const std::string& message,
                             const std::string& correlationId) {
    return nlohmann::json{{"ok", false},
                          {"error", toString(kind)},
                          {"message", message},
                          {"correlation_id", correlationId}};
}

}  // namespace sealport::control
