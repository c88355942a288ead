// The encrypted blob store on real files (and, for disk full, a real small tmpfs).
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "sealport/state/blob_store.hpp"
#include "temp_dir.hpp"

using namespace sealport;
using state::BlobFailure;
using state::BlobStore;

namespace {

core::SecretBytes key(std::uint8_t fill) { return core::SecretBytes(std::vector<std::uint8_t>(32, fill)); }

core::Bytes pattern(std::size_t n, std::uint8_t seed = 1) {
    core::Bytes b(n);
    std::uint32_t x = seed * 2654435761U + 1;
    for (auto& c : b) {
        x = x * 1103515245U + 12345U;
        c = static_cast<std::uint8_t>(x >> 16);
    }
    return b;
}

template <typename T>
const T& ok(const state::BlobResult<T>& r) {
    if (const auto* f = std::get_if<BlobFailure>(&r)) FAIL("blob failure: " << f->detail);
    return std::get<T>(r);
}

BlobFailure::Kind failureOf(const state::BlobResult<core::Bytes>& r) {
    REQUIRE(std::holds_alternative<BlobFailure>(r));
    return std::get<BlobFailure>(r).kind;
}

core::Bytes readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return core::Bytes(std::istreambuf_iterator<char>(in), {});
}

void writeFile(const std::filesystem::path& p, const core::Bytes& b) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::size_t filesUnder(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file()) ++n;
    return n;
}

}  // namespace

TEST_CASE("a blob decrypts to exactly the bytes stored, at every chunk boundary") {
    testing::TempDir dir;
    const auto k = key(3);
    BlobStore store(dir / "blobs", k);
    const std::size_t size = GENERATE(0U, 1U, 65535U, 65536U, 65537U, 3U * 65536U + 17U);
    const auto data = pattern(size);
    const auto stored = ok(store.put(data));
    CHECK(stored.size == size);
    CHECK(stored.sha256 == core::sha256(data));
    CHECK(state::validBlobId(stored.id));
    CHECK(ok(store.get(stored.id)) == data);
    CHECK(store.plaintextSize(stored.id) == size);
    const auto onDisk = std::filesystem::file_size(store.pathOf(stored.id));
    const std::size_t chunks = size == 0 ? 1 : (size + 65535) / 65536;
    CHECK(onDisk == state::kBlobHeaderSize + size + 16 * chunks);
}

TEST_CASE("blob files hold no plaintext and are private") {
    testing::TempDir dir;
    const auto k = key(4);
    BlobStore store(dir / "blobs", k);
    const std::string canary = "Lefevre^Amelie 1.2.826.0.1.3680043.8.498.CANARY";
    core::Bytes data(canary.begin(), canary.end());
    const auto more = pattern(100000);
    data.insert(data.end(), more.begin(), more.end());
    data.insert(data.end(), canary.begin(), canary.end());
    const auto stored = ok(store.put(data));
    const auto raw = readFile(store.pathOf(stored.id));
    CHECK(std::search(raw.begin(), raw.end(), canary.begin(), canary.end()) == raw.end());
    // The same search does find it in the plaintext, so it can fail.
    CHECK(std::search(data.begin(), data.end(), canary.begin(), canary.end()) != data.end());
    using std::filesystem::perms;
    const perms fileMode = std::filesystem::status(store.pathOf(stored.id)).permissions() & perms::all;
    const perms dirMode = std::filesystem::status(dir / "blobs").permissions() & perms::all;
    CHECK((fileMode == (perms::owner_read | perms::owner_write)));
    CHECK((dirMode == perms::owner_all));
    // Two puts of the same bytes give two different ciphertexts (own data key, own nonces).
    const auto again = ok(store.put(data));
    CHECK(readFile(store.pathOf(again.id)) != raw);
}

TEST_CASE("any altered byte of a blob file is detected") {
    testing::TempDir dir;
    const auto k = key(5);
    BlobStore store(dir / "blobs", k);
    const auto data = pattern(150000);
    const auto stored = ok(store.put(data));
    const auto path = store.pathOf(stored.id);
    const auto original = readFile(path);
    // magic, key nonce, wrapped key, key tag, size, chunk size, nonce prefix,
    // first chunk, first chunk's tag, middle chunk, the last tag.
    const std::size_t offset = GENERATE(0U, 9U, 30U, 60U, 75U, 79U, 82U, 84U + 100U, 84U + 65536U + 3U,
                                        84U + 65552U + 4000U, 150000U + 84U + 48U - 1U);
    REQUIRE(offset < original.size());
    auto tampered = original;
    tampered[offset] ^= 0x01;
    writeFile(path, tampered);
    CAPTURE(offset);
    CHECK(failureOf(store.get(stored.id)) == BlobFailure::Kind::corrupt);
}

TEST_CASE("a truncated, extended, reordered or renamed blob is detected") {
    testing::TempDir dir;
    const auto k = key(6);
    BlobStore store(dir / "blobs", k);
    const auto data = pattern(3 * 65536);
    const auto stored = ok(store.put(data));
    const auto path = store.pathOf(stored.id);
    const auto original = readFile(path);
    SECTION("truncated by one whole chunk") {
        writeFile(path, core::Bytes(original.begin(), original.end() - (65536 + 16)));
        CHECK(failureOf(store.get(stored.id)) == BlobFailure::Kind::corrupt);
    }
    SECTION("a chunk appended") {
        auto longer = original;
        longer.insert(longer.end(), original.end() - (65536 + 16), original.end());
        writeFile(path, longer);
        CHECK(failureOf(store.get(stored.id)) == BlobFailure::Kind::corrupt);
    }
    SECTION("two chunks swapped") {
        auto swapped = original;
        const std::size_t c = 65536 + 16;
        std::swap_ranges(swapped.begin() + 84, swapped.begin() + 84 + static_cast<long>(c),
                         swapped.begin() + 84 + static_cast<long>(c));
        writeFile(path, swapped);
        CHECK(failureOf(store.get(stored.id)) == BlobFailure::Kind::corrupt);
    }
    SECTION("moved under another blob's name") {
        const auto other = ok(store.put(pattern(10)));
        std::filesystem::copy_file(path, store.pathOf(other.id), std::filesystem::copy_options::overwrite_existing);
        CHECK(failureOf(store.get(other.id)) == BlobFailure::Kind::corrupt);
    }
    SECTION("read with another key") {
        const auto otherKey = key(7);
        BlobStore wrong(dir / "blobs", otherKey);
        CHECK(failureOf(wrong.get(stored.id)) == BlobFailure::Kind::corrupt);
    }
    SECTION("missing") {
        std::filesystem::remove(path);
        CHECK(failureOf(store.get(stored.id)) == BlobFailure::Kind::not_found);
    }
    SECTION("not an id") {
        CHECK(failureOf(store.get("../../etc/passwd")) == BlobFailure::Kind::invalid);
    }
}

TEST_CASE("a stream read hands out only authenticated chunks") {
    testing::TempDir dir;
    const auto k = key(8);
    BlobStore store(dir / "blobs", k);
    const auto data = pattern(4 * 65536);
    const auto stored = ok(store.put(data));
    auto raw = readFile(store.pathOf(stored.id));
    raw[84 + 2 * (65536 + 16) + 10] ^= 0xFF;  // inside the third chunk
    writeFile(store.pathOf(stored.id), raw);
    std::size_t seen = 0;
    const auto f = store.read(stored.id, [&](std::span<const std::uint8_t> c) {
        CHECK(std::equal(c.begin(), c.end(), data.begin() + static_cast<long>(seen)));
        seen += c.size();
    });
    REQUIRE(f);
    CHECK(f->kind == BlobFailure::Kind::corrupt);
    CHECK(seen == 2 * 65536);
}

TEST_CASE("a write that fails part-way leaves nothing behind (injected at the write seam)") {
    testing::TempDir dir;
    const auto k = key(9);
    BlobStore store(dir / "blobs", k);
    const std::size_t failAt = GENERATE(0U, 10U, 84U, 84U + 70000U, 84U + 200000U);
    std::size_t written = 0;
    store.setWriteFunction([&](int fd, const void* p, std::size_t n) -> long {
        if (written + n > failAt) {
            errno = ENOSPC;
            return -1;
        }
        written += n;
        return static_cast<long>(::write(fd, p, n));
    });
    const auto r = store.put(pattern(300000));
    REQUIRE(std::holds_alternative<BlobFailure>(r));
    CHECK(std::get<BlobFailure>(r).kind == BlobFailure::Kind::no_space);
    CHECK(filesUnder(dir / "blobs") == 0);
}

TEST_CASE("a full file system gives no_space and leaves no partial blob (real tmpfs)") {
    // Needs root to mount; the suite runs as root, as CI does.
    REQUIRE(::geteuid() == 0);
    testing::TempDir dir;
    const auto mnt = dir / "small";
    std::filesystem::create_directory(mnt);
    REQUIRE(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k,mode=0700") == 0);
    struct Unmount {
        std::filesystem::path p;
        ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } unmount{mnt};
    const auto k = key(10);
    BlobStore store(mnt / "blobs", k);
    const auto small = ok(store.put(pattern(50000)));
    const auto r = store.put(pattern(400000));
    REQUIRE(std::holds_alternative<BlobFailure>(r));
    CHECK(std::get<BlobFailure>(r).kind == BlobFailure::Kind::no_space);
    CHECK(filesUnder(mnt / "blobs") == 1);  // only the earlier blob
    CHECK(ok(store.get(small.id)) == pattern(50000));
}

TEST_CASE("a blob written piece by piece equals one written at once, whatever the pieces") {
    testing::TempDir dir;
    const auto k = key(11);
    BlobStore store(dir / "blobs", k);
    const std::size_t size = GENERATE(0U, 1U, 65536U, 2U * 65536U, 300000U);
    const std::size_t piece = GENERATE(1U, 4096U, 65535U, 65536U, 65537U, 1000000U);
    const auto data = pattern(size, 7);
    auto begun = store.begin();
    REQUIRE(std::holds_alternative<std::unique_ptr<state::BlobWriter>>(begun));
    auto& writer = *std::get<std::unique_ptr<state::BlobWriter>>(begun);
    // Nothing is visible under a blob name before commit.
    CHECK(filesUnder(dir / "blobs") == 1);  // the temporary file only
    for (std::size_t off = 0; off < size; off += piece) {
        const auto n = std::min(piece, size - off);
        REQUIRE_FALSE(writer.write(std::span<const std::uint8_t>(data).subspan(off, n)));
    }
    CHECK(writer.size() == size);
    const auto stored = ok(writer.commit(core::sha256(data)));
    CHECK(stored.size == size);
    CHECK(ok(store.get(stored.id)) == data);
    const std::size_t chunks = size == 0 ? 1 : (size + 65535) / 65536;
    CHECK(std::filesystem::file_size(store.pathOf(stored.id)) == state::kBlobHeaderSize + size + 16 * chunks);
    // A committed writer is spent.
    CHECK(writer.write(data).has_value());
    CHECK(std::holds_alternative<BlobFailure>(writer.commit(stored.sha256)));
    CHECK(ok(store.get(stored.id)) == data);
}

TEST_CASE("a blob writer that is aborted, destroyed or fails mid-stream leaves nothing behind") {
    testing::TempDir dir;
    const auto k = key(12);
    BlobStore store(dir / "blobs", k);
    const auto data = pattern(200000, 8);
    SECTION("aborted after some chunks") {
        auto begun = store.begin();
        auto& writer = *std::get<std::unique_ptr<state::BlobWriter>>(begun);
        REQUIRE_FALSE(writer.write(data));
        writer.abort();
        writer.abort();  // idempotent
        CHECK(filesUnder(dir / "blobs") == 0);
        CHECK(std::holds_alternative<BlobFailure>(writer.commit(core::sha256(data))));
        CHECK(filesUnder(dir / "blobs") == 0);
    }
    SECTION("destroyed without commit") {
        {
            auto begun = store.begin();
            REQUIRE_FALSE(std::get<std::unique_ptr<state::BlobWriter>>(begun)->write(data));
        }
        CHECK(filesUnder(dir / "blobs") == 0);
    }
    SECTION("a write fails at the seam; later writes and the commit report the same failure") {
        std::size_t written = 0;
        store.setWriteFunction([&](int fd, const void* p, std::size_t n) -> long {
            if (written + n > 100000) {
                errno = ENOSPC;
                return -1;
            }
            written += n;
            return static_cast<long>(::write(fd, p, n));
        });
        auto begun = store.begin();
        auto& writer = *std::get<std::unique_ptr<state::BlobWriter>>(begun);
        const auto first = writer.write(data);
        REQUIRE(first.has_value());
        CHECK(first->kind == BlobFailure::Kind::no_space);
        CHECK(writer.write(data)->kind == BlobFailure::Kind::no_space);
        const auto r = writer.commit(core::sha256(data));
        REQUIRE(std::holds_alternative<BlobFailure>(r));
        CHECK(std::get<BlobFailure>(r).kind == BlobFailure::Kind::no_space);
        writer.abort();
        CHECK(filesUnder(dir / "blobs") == 0);
    }
}
