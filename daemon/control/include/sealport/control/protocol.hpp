#pragma once

// The control socket's wire format: each message is a 4-byte big-endian length
// followed by that many bytes of UTF-8 JSON. A request is
//   {"command": "audit tail", "args": {"n": 20}}
// and a response is {"ok": true, "result": {...}} or
//   {"ok": false, "error": "refused", "message": "...", "correlation_id": "..."}.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sealport::control {

inline constexpr std::size_t kFrameHeaderSize = 4;
inline constexpr std::size_t kMaxCommandLength = 64;
inline constexpr std::size_t kMaxNestingDepth = 32;

std::vector<std::uint8_t> encodeFrame(std::string_view body);

// Decodes the 4-byte header. Errors: empty frame or frame over `maxBody`.
struct FrameHeaderError {
    std::string message;
};
std::variant<std::size_t, FrameHeaderError> decodeFrameHeader(
    std::span<const std::uint8_t, kFrameHeaderSize> header, std::size_t maxBody);

struct Request {
    std::string command;
    nlohmann::json args = nlohmann::json::object();
};

struct RequestError {
    std::string message;
};

// Validates the body of a request frame: a JSON object with a "command" made
// of lowercase words separated by single spaces and an optional "args" object.
std::variant<Request, RequestError> parseRequest(std::string_view body);

enum class ErrorKind { bad_request, unknown_command, refused, invalid_argument, not_found, unavailable, conflict, internal };
std::string_view toString(ErrorKind k) noexcept;

nlohmann::json okResponse(nlohmann::json result);
nlohmann::json errorResponse(ErrorKind kind, const std::string& message,
                             const std::string& correlationId);

}  // namespace sealport::control
