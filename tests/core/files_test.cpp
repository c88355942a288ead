#include "sealport/core/files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <system_error>

#include "core_test_support.hpp"

using sealport::coretest::bytesOf;
using sealport::coretest::listDirectory;
using sealport::coretest::modeOf;
using sealport::coretest::readFileBytes;
using sealport::coretest::ScratchDir;

TEST_CASE("writeFileAtomically creates a file with the content and mode asked for", "[files]") {
    ScratchDir dir;
    const auto path = dir / "manifest.json";
    sealport::core::writeFileAtomically(path, bytesOf("{\"v\":1}"), 0600);
    CHECK(readFileBytes(path) == bytesOf("{\"v\":1}"));
    CHECK(modeOf(path) == 0600);
    CHECK(listDirectory(dir.path()) == std::vector<std::string>{"manifest.json"});
}

TEST_CASE("writeFileAtomically replaces the content and leaves no temporary file", "[files]") {
    ScratchDir dir;
    const auto path = dir / "state.txt";
    sealport::coretest::writeFileText(path, "old content that is longer than the new one", 0600);
    sealport::core::writeFileAtomically(path, bytesOf("new"), 0600);
    CHECK(readFileBytes(path) == bytesOf("new"));
    sealport::core::writeFileAtomically(path, bytesOf(""), 0600);
    CHECK(readFileBytes(path).empty());
    CHECK(listDirectory(dir.path()) == std::vector<std::string>{"state.txt"});
}

TEST_CASE("writeFileAtomically replaces a file by rename, not by writing into it", "[files]") {
    ScratchDir dir;
    const auto path = dir / "f";
    sealport::coretest::writeFileText(path, "old", 0600);
    // A reader that has the old file open keeps seeing the old content.
    const auto hardLink = dir / "old-inode";
    std::filesystem::create_hard_link(path, hardLink);
    sealport::core::writeFileAtomically(path, bytesOf("new"), 0600);
    CHECK(readFileBytes(path) == bytesOf("new"));
    CHECK(readFileBytes(hardLink) == bytesOf("old"));
}

TEST_CASE("writeFileAtomically cleans up its temporary file when it fails", "[files]") {
    ScratchDir dir;
    // The target is a non-empty directory: rename(2) fails after the temp file was written.
    const auto path = dir / "occupied";
    std::filesystem::create_directory(path);
    sealport::coretest::writeFileText(path / "inside", "x", 0600);
    CHECK_THROWS_AS(sealport::core::writeFileAtomically(path, bytesOf("data"), 0600),
                    std::system_error);
    CHECK(listDirectory(dir.path()) == std::vector<std::string>{"occupied"});
}

TEST_CASE("ensurePrivateDirectory creates a missing directory 0700", "[files]") {
    ScratchDir dir;
    const auto path = dir / "state";
    sealport::core::ensurePrivateDirectory(path);
    REQUIRE(std::filesystem::is_directory(path));
    CHECK(modeOf(path) == 0700);
}

TEST_CASE("ensurePrivateDirectory tightens an open directory to 0700", "[files]") {
    const mode_t mode = GENERATE(mode_t{0755}, mode_t{0750}, mode_t{0777}, mode_t{0701});
    CAPTURE(mode);
    ScratchDir dir;
    const auto path = dir / "state";
    REQUIRE(::mkdir(path.c_str(), 0700) == 0);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    REQUIRE(modeOf(path) == mode);
    sealport::core::ensurePrivateDirectory(path);
    CHECK(modeOf(path) == 0700);
}

TEST_CASE("ensurePrivateDirectory leaves an already private directory and its content alone",
          "[files]") {
    ScratchDir dir;
    const auto path = dir / "state";
    sealport::core::ensurePrivateDirectory(path);
    sealport::coretest::writeFileText(path / "keep", "kept", 0600);
    sealport::core::ensurePrivateDirectory(path);
    CHECK(modeOf(path) == 0700);
    CHECK(readFileBytes(path / "keep") == bytesOf("kept"));
}

TEST_CASE("ensurePrivateDirectory refuses a symlink, even to a private directory", "[files]") {
    ScratchDir dir;
    const auto real = dir / "real";
    REQUIRE(::mkdir(real.c_str(), 0755) == 0);
    const auto link = dir / "state";
    std::filesystem::create_symlink(real, link);
    CHECK_THROWS_AS(sealport::core::ensurePrivateDirectory(link), std::system_error);
    // The target was not touched through the link.
    CHECK(modeOf(real) == 0755);
}

TEST_CASE("ensurePrivateDirectory refuses a dangling symlink instead of creating its target",
          "[files]") {
    ScratchDir dir;
    const auto link = dir / "state";
    std::filesystem::create_symlink(dir / "target", link);
    CHECK_THROWS_AS(sealport::core::ensurePrivateDirectory(link), std::system_error);
    CHECK_FALSE(std::filesystem::exists(dir / "target"));
}

TEST_CASE("ensurePrivateDirectory refuses a regular file", "[files]") {
    ScratchDir dir;
    const auto path = dir / "state";
    sealport::coretest::writeFileText(path, "not a directory", 0600);
    CHECK_THROWS_AS(sealport::core::ensurePrivateDirectory(path), std::system_error);
}

TEST_CASE("ensurePrivateDirectory refuses a directory owned by another uid", "[files]") {
    ScratchDir dir;
    const auto path = dir / "state";
    REQUIRE(::mkdir(path.c_str(), 0700) == 0);
    REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
    CHECK_THROWS_WITH(sealport::core::ensurePrivateDirectory(path),
                      Catch::Matchers::Contains("owned by uid 65534"));
}

TEST_CASE("readAll stops at end of file and writeAll writes everything", "[files]") {
    ScratchDir dir;
    const auto path = dir / "data";
    std::vector<std::uint8_t> data(200000);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint8_t>(i * 7);
    {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        sealport::core::writeAll(fd, data);
        ::close(fd);
    }
    std::vector<std::uint8_t> buf(data.size() + 10);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    const std::size_t got = sealport::core::readAll(fd, buf);
    ::close(fd);
    CHECK(got == data.size());
    buf.resize(got);
    CHECK(buf == data);
}
