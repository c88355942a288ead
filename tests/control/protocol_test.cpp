#include <catch2/catch.hpp>

#include "sealport/control/protocol.hpp"

using namespace sealport::control;

namespace {

std::variant<std::size_t, FrameHeaderError> header(std::uint8_t a, std::uint8_t b, std::uint8_t c,
                                                   std::uint8_t d, std::size_t max = 65536) {
    const std::array<std::uint8_t, 4> h{a, b, c, d};
    return decodeFrameHeader(std::span<const std::uint8_t, 4>(h), max);
}

}  // namespace

TEST_CASE("a frame is a big-endian length followed by the body") {
    const auto f = encodeFrame("{\"command\":\"status\"}");
    REQUIRE(f.size() == 4 + 20);
    CHECK(f[0] == 0);
    CHECK(f[1] == 0);
    CHECK(f[2] == 0);
    CHECK(f[3] == 20);
    CHECK(std::string(f.begin() + 4, f.end()) == "{\"command\":\"status\"}");
    auto decoded = header(f[0], f[1], f[2], f[3]);
    REQUIRE(std::holds_alternative<std::size_t>(decoded));
    CHECK(std::get<std::size_t>(decoded) == 20);
}

TEST_CASE("an empty or oversized frame header is refused before any body is read") {
    CHECK(std::holds_alternative<FrameHeaderError>(header(0, 0, 0, 0)));
    CHECK(std::holds_alternative<FrameHeaderError>(header(0, 1, 0, 1)));          // 65537
    CHECK(std::holds_alternative<FrameHeaderError>(header(0xFF, 0xFF, 0xFF, 0xFF)));
    CHECK(std::holds_alternative<std::size_t>(header(0, 1, 0, 0)));               // 65536 exactly
    CHECK(std::holds_alternative<FrameHeaderError>(header(0, 0, 4, 1, 1024)));    // 1025 > 1024
    auto err = std::get<FrameHeaderError>(header(0, 1, 0, 1));
    CHECK_THAT(err.message, Catch::Contains("exceeds the limit"));
}

TEST_CASE("well-formed requests parse into a command and its arguments") {
    auto r = parseRequest(R"({"command":"audit tail","args":{"n":5}})");
    REQUIRE(std::holds_alternative<Request>(r));
    const auto& req = std::get<Request>(r);
    CHECK(req.command == "audit tail");
    CHECK(req.args.at("n") == 5);

    auto noArgs = parseRequest(R"({"command":"status"})");
    REQUIRE(std::holds_alternative<Request>(noArgs));
    CHECK(std::get<Request>(noArgs).args.is_object());
    CHECK(std::get<Request>(noArgs).args.empty());
}

TEST_CASE("malformed requests are refused with a reason") {
    const std::string body = GENERATE(
        std::string(""), std::string("{"), std::string("null"), std::string("[]"),
        std::string("\"status\""), std::string("42"), std::string(R"({"args":{}})"),
        std::string(R"({"command":42})"), std::string(R"({"command":""})"),
        std::string(R"({"command":"Status"})"), std::string(R"({"command":"audit  tail"})"),
        std::string(R"({"command":" status"})"), std::string(R"({"command":"status "})"),
        std::string(R"({"command":"status\u0000"})"), std::string(R"({"command":"st@tus"})"),
        std::string(R"({"command":"status","args":[]})"),
        std::string(R"({"command":"status","args":"x"})"),
        std::string(R"({"command":"status","extra":1})"),
        std::string(R"({"command":"status"} trailing)"),
        std::string("{\"command\":\"") + std::string(65, 'a') + "\"}",
        std::string("\xff\xfe{\"command\":\"status\"}"),
        std::string(R"({"command":"\ud800"})"));
    CAPTURE(body);
    auto r = parseRequest(body);
    REQUIRE(std::holds_alternative<RequestError>(r));
    CHECK_FALSE(std::get<RequestError>(r).message.empty());
}

// Regression: 20,000 nested '[' in a 64 KiB frame crashed the parser (stack overflow).
TEST_CASE("deeply nested requests are refused before parsing, without exhausting the stack") {
    auto nested = [](std::size_t depth) {
        std::string s = R"({"command":"status","args":{"x":)";
        return s + std::string(depth, '[') + std::string(depth, ']') + "}}";
    };
    auto deep = parseRequest(nested(20000));
    REQUIRE(std::holds_alternative<RequestError>(deep));
    CHECK_THAT(std::get<RequestError>(deep).message, Catch::Contains("nested deeper"));
    CHECK(std::holds_alternative<RequestError>(parseRequest(nested(kMaxNestingDepth - 1))));
    CHECK(std::holds_alternative<Request>(parseRequest(nested(kMaxNestingDepth - 2))));
    // Brackets inside strings do not count.
    const std::string inString = R"({"command":"status","args":{"x":")" + std::string(1000, '[') + R"("}})";
    CHECK(std::holds_alternative<Request>(parseRequest(inString)));
}

TEST_CASE("error responses carry a kind, a message and a correlation id, never more") {
    const auto e = errorResponse(ErrorKind::refused, "permission denied", "abc123");
    CHECK(e.at("ok") == false);
    CHECK(e.at("error") == "refused");
    CHECK(e.at("message") == "permission denied");
    CHECK(e.at("correlation_id") == "abc123");
    CHECK(e.size() == 4);
    const auto ok = okResponse({{"mode", "online"}});
    CHECK(ok.at("ok") == true);
    CHECK(ok.at("result").at("mode") == "online");
}
