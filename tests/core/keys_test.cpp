#include "sealport/core/keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>

#include "core_test_support.hpp"
#include "sealport/core/crypto.hpp"

using Catch::Matchers::Contains;
using sealport::core::Bytes;
using sealport::core::KeyError;
using sealport::core::SecretBytes;
using sealport::coretest::bytesOf;
using sealport::coretest::ScratchDir;

namespace {

const std::string kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Bytes keyBytes() {
    return sealport::core::fromHex(kKeyHex);
}

std::string keyErrorOf(const std::filesystem::path& path, uid_t owner) {
    try {
        (void)sealport::core::readMasterKeyFile(path, owner);
    } catch (const KeyError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a master key of 32 raw bytes is taken as is", "[keys]") {
    const Bytes raw = keyBytes();
    const SecretBytes key = sealport::core::parseMasterKey(raw);
    CHECK(key.equals(raw));
}

TEST_CASE("32 raw bytes that end in a newline byte are still a raw key", "[keys]") {
    Bytes raw = keyBytes();
    raw.back() = '\n';
    CHECK(sealport::core::parseMasterKey(raw).equals(raw));
}

TEST_CASE("a master key of 64 hex digits is decoded, with or without a trailing newline",
          "[keys]") {
    const std::string text =
        GENERATE(as<std::string>{}, kKeyHex, kKeyHex + "\n", kKeyHex + "\r\n", kKeyHex + "\n\n",
                 "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
    CAPTURE(text.size());
    CHECK(sealport::core::parseMasterKey(bytesOf(text)).equals(keyBytes()));
}

TEST_CASE("a master key of the wrong length is refused", "[keys]") {
    const std::size_t size = GENERATE(0U, 1U, 31U, 33U, 63U, 65U, 128U);
    CAPTURE(size);
    const Bytes content(size, 'a');
    CHECK_THROWS_AS(sealport::core::parseMasterKey(content), KeyError);
}

TEST_CASE("hex text with extra whitespace or digits is refused", "[keys]") {
    const std::string text = GENERATE(as<std::string>{}, kKeyHex.substr(2), kKeyHex + "00",
                                      " " + kKeyHex, kKeyHex + " \n", kKeyHex + "\n0");
    CAPTURE(text);
    CHECK_THROWS_AS(sealport::core::parseMasterKey(bytesOf(text)), KeyError);
}

TEST_CASE("64 characters that are not all hex digits are refused", "[keys]") {
    std::string text = kKeyHex;
    text[17] = 'g';
    CHECK_THROWS_WITH(sealport::core::parseMasterKey(bytesOf(text)),
                      Contains("not all hex digits"));
}

TEST_CASE("readMasterKeyFile accepts a key file readable only by its owner", "[keys][file]") {
    const mode_t mode = GENERATE(mode_t{0600}, mode_t{0400});
    CAPTURE(mode);
    ScratchDir dir;
    const auto path = dir / "sealport.key";
    sealport::coretest::writeFileText(path, kKeyHex + "\n", mode);
    REQUIRE(sealport::coretest::modeOf(path) == mode);
    CHECK(sealport::core::readMasterKeyFile(path, ::geteuid()).equals(keyBytes()));
}

TEST_CASE("readMasterKeyFile reads a raw 32-byte key file", "[keys][file]") {
    ScratchDir dir;
    const auto path = dir / "raw.key";
    sealport::coretest::writeFileBytes(path, keyBytes(), 0600);
    CHECK(sealport::core::readMasterKeyFile(path, ::geteuid()).equals(keyBytes()));
}

TEST_CASE("a key file that group or others may read or write is refused", "[keys][file]") {
    const mode_t mode = GENERATE(mode_t{0640}, mode_t{0604}, mode_t{0620}, mode_t{0602},
                                 mode_t{0610}, mode_t{0601}, mode_t{0644}, mode_t{0666});
    CAPTURE(mode);
    ScratchDir dir;
    const auto path = dir / "sealport.key";
    sealport::coretest::writeFileText(path, kKeyHex, mode);
    REQUIRE(sealport::coretest::modeOf(path) == mode);
    CHECK_THAT(keyErrorOf(path, ::geteuid()),
               Contains("readable or writable by group or others") && Contains("chmod 0600"));
}

TEST_CASE("a key file owned by another uid is refused", "[keys][file]") {
    ScratchDir dir;
    const auto path = dir / "sealport.key";
    sealport::coretest::writeFileText(path, kKeyHex, 0600);
    REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
    // We run as root; uid 0 is "the daemon's user" here and the file belongs to nobody.
    CHECK_THAT(keyErrorOf(path, 0),
               Contains("owned by uid 65534") && Contains("not by the daemon's uid 0"));
    // The same file is good for the uid that owns it.
    CHECK(sealport::core::readMasterKeyFile(path, 65534).equals(keyBytes()));
}

TEST_CASE("a key file that is a symlink is refused, even to a good key", "[keys][file]") {
    ScratchDir dir;
    const auto target = dir / "real.key";
    sealport::coretest::writeFileText(target, kKeyHex, 0600);
    const auto link = dir / "sealport.key";
    std::filesystem::create_symlink(target, link);
    REQUIRE(sealport::core::readMasterKeyFile(target, ::geteuid()).equals(keyBytes()));
    CHECK_THAT(keyErrorOf(link, ::geteuid()), Contains("it is a symlink"));
}

TEST_CASE("a key path that is a directory is refused", "[keys][file]") {
    ScratchDir dir;
    const auto path = dir / "sealport.key";
    REQUIRE(::mkdir(path.c_str(), 0700) == 0);
    CHECK_THAT(keyErrorOf(path, ::geteuid()), Contains("not a regular file"));
}

TEST_CASE("a missing key file is refused with a hint how to make one", "[keys][file]") {
    ScratchDir dir;
    CHECK_THAT(keyErrorOf(dir / "absent.key", ::geteuid()),
               Contains("cannot open master key file") && Contains("sealportd --generate-key"));
}

TEST_CASE("a key file that is too large to be a key is refused", "[keys][file]") {
    ScratchDir dir;
    const auto path = dir / "sealport.key";
    sealport::coretest::writeFileText(path, std::string(257, 'a'), 0600);
    CHECK_THAT(keyErrorOf(path, ::geteuid()), Contains("too large"));
}

TEST_CASE("a key file with the wrong content is refused", "[keys][file]") {
    ScratchDir dir;
    const auto path = dir / "sealport.key";
    sealport::coretest::writeFileText(path, "", 0600);
    CHECK_THAT(keyErrorOf(path, ::geteuid()), Contains("not 0 bytes"));
}

TEST_CASE("a FIFO at the key path is refused without blocking", "[keys][file][bug]") {
    ScratchDir dir;
    const auto path = dir / "sealport.key";
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    auto result = std::async(std::launch::async, [&] { return keyErrorOf(path, ::geteuid()); });
    const bool returnedPromptly =
        result.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
    // Unblock a reader stuck in open(2) so that the test can end either way.
    for (int i = 0;
         i < 100 && result.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready;
         ++i) {
        const int writer = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (writer >= 0)
            ::close(writer);
    }
    const std::string message = result.get();
    CHECK(returnedPromptly);
    CHECK_THAT(message, Contains("not a regular file"));
}

TEST_CASE("masterKeyPath prefers key_file, then the systemd credential", "[keys]") {
    CHECK(sealport::core::masterKeyPath(std::filesystem::path("/etc/sp/master.key"),
                                        "/run/credentials/sp") == "/etc/sp/master.key");
    CHECK(sealport::core::masterKeyPath(std::filesystem::path("/etc/sp/master.key"), nullptr) ==
          "/etc/sp/master.key");
    CHECK(sealport::core::masterKeyPath(std::nullopt, "/run/credentials/sp") ==
          "/run/credentials/sp/sealport.key");
}

TEST_CASE("masterKeyPath without key_file or credentials says what to do", "[keys]") {
    const char* credentials = GENERATE(static_cast<const char*>(nullptr), "");
    CHECK_THROWS_MATCHES(sealport::core::masterKeyPath(std::nullopt, credentials), KeyError,
                         Catch::Matchers::Predicate<KeyError>(
                             [](const KeyError& e) {
                                 const std::string m = e.what();
                                 return m.find("key_file") != std::string::npos &&
                                        m.find("sealport.key") != std::string::npos &&
                                        m.find("--generate-key") != std::string::npos;
                             },
                             "names key_file, the credential and --generate-key"));
}

TEST_CASE("generateKeyFile writes 32 random bytes to a new 0600 file", "[keys][generate]") {
    ScratchDir dir;
    const auto path = dir / "new.key";
    sealport::core::generateKeyFile(path);
    CHECK(sealport::coretest::modeOf(path) == 0600);
    const auto content = sealport::coretest::readFileBytes(path);
    CHECK(content.size() == 32);
    CHECK(content != Bytes(32, 0));
    // What it writes is what the daemon reads.
    CHECK(sealport::core::readMasterKeyFile(path, ::geteuid()).equals(content));
}

TEST_CASE("generateKeyFile is 0600 whatever the umask", "[keys][generate]") {
    ScratchDir dir;
    const mode_t old = ::umask(0);
    try {
        sealport::core::generateKeyFile(dir / "k");
    } catch (...) {
        ::umask(old);
        throw;
    }
    ::umask(old);
    CHECK(sealport::coretest::modeOf(dir / "k") == 0600);
}

TEST_CASE("generateKeyFile refuses to overwrite an existing file", "[keys][generate]") {
    ScratchDir dir;
    const auto path = dir / "existing.key";
    sealport::coretest::writeFileText(path, kKeyHex, 0600);
    CHECK_THROWS_WITH(sealport::core::generateKeyFile(path), Contains("refusing to overwrite"));
    CHECK(sealport::coretest::readFileBytes(path) == bytesOf(kKeyHex));
}

TEST_CASE("generateKeyFile does not follow a symlink to create its target", "[keys][generate]") {
    ScratchDir dir;
    const auto target = dir / "elsewhere.key";
    const auto link = dir / "sealport.key";
    std::filesystem::create_symlink(target, link);
    CHECK_THROWS_AS(sealport::core::generateKeyFile(link), KeyError);
    CHECK_FALSE(std::filesystem::exists(target));
}

TEST_CASE("two generated keys differ", "[keys][generate]") {
    ScratchDir dir;
    sealport::core::generateKeyFile(dir / "a.key");
    sealport::core::generateKeyFile(dir / "b.key");
    CHECK(sealport::coretest::readFileBytes(dir / "a.key") !=
          sealport::coretest::readFileBytes(dir / "b.key"));
}
