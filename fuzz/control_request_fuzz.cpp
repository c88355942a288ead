// Fuzzes the control socket's request path as the server runs it: a 4-byte
// length header (decodeFrameHeader), then the body (parseRequest).
//
// Input layout: bytes 0..3 are the frame header; the rest is the body. As in
// the server, a rejected header ends the request before any body is parsed, and
// the body handed to parseRequest is never longer than the header announced. A
// shorter rest (a truncated frame) is parsed as it is: the server would wait for
// more, but parsing any prefix is a subset of parsing any string.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "sealport/control/protocol.hpp"

namespace {

namespace control = sealport::control;

// The default `max_request_bytes` of the configuration.
constexpr std::size_t kMaxBody = 64 * 1024;

void require(bool condition) {
    if (!condition) __builtin_trap();
}

bool isCommandChar(char c) { return (c >= 'a' && c <= 'z') || c == '-' || c == ' '; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < control::kFrameHeaderSize) return 0;
    const std::span<const std::uint8_t, control::kFrameHeaderSize> header(data,
                                                                          control::kFrameHeaderSize);
    const std::size_t announced = (std::size_t{data[0]} << 24) | (std::size_t{data[1]} << 16) |
                                  (std::size_t{data[2]} << 8) | std::size_t{data[3]};

    const auto decoded = control::decodeFrameHeader(header, kMaxBody);
    if (const auto* err = std::get_if<control::FrameHeaderError>(&decoded)) {
        // Only an empty or oversized frame may be refused, and always with a reason.
        require(announced == 0 || announced > kMaxBody);
        require(!err->message.empty());
        return 0;
    }
    const std::size_t length = std::get<std::size_t>(decoded);
    require(length == announced && length > 0 && length <= kMaxBody);

    const std::size_t available = size - control::kFrameHeaderSize;
    const std::string_view body(reinterpret_cast<const char*>(data + control::kFrameHeaderSize),
                                available < length ? available : length);

    // encodeFrame and decodeFrameHeader agree on the header.
    if (!body.empty()) {
        const auto frame = control::encodeFrame(body);
        require(frame.size() == control::kFrameHeaderSize + body.size());
        const auto again = control::decodeFrameHeader(
            std::span<const std::uint8_t, control::kFrameHeaderSize>(frame.data(),
                                                                      control::kFrameHeaderSize),
            kMaxBody);
        require(std::holds_alternative<std::size_t>(again) &&
                std::get<std::size_t>(again) == body.size());
    }

    // Errors are values: any exception escaping parseRequest is a bug, and
    // libFuzzer reports it as a crash.
    const auto parsed = control::parseRequest(body);
    if (const auto* err = std::get_if<control::RequestError>(&parsed)) {
        require(!err->message.empty());
        return 0;
    }
    const auto& request = std::get<control::Request>(parsed);
    require(!request.command.empty());
    require(request.command.size() <= control::kMaxCommandLength);
    require(request.command.front() != ' ' && request.command.back() != ' ');
    for (std::size_t i = 0; i < request.command.size(); ++i) {
        require(isCommandChar(request.command[i]));
        require(!(i > 0 && request.command[i] == ' ' && request.command[i - 1] == ' '));
    }
    require(request.args.is_object());
    return 0;
}
