#pragma once

// Encrypted, durable storage of image objects. Each blob has its own random
// 256-bit data key, wrapped with AES-256-GCM under the blob key derived from the
// master key; the object is encrypted in 64 KiB chunks, each AES-256-GCM with
// its own tag, so that it can be decrypted as a stream with flat memory and any
// altered, reordered, truncated or extended chunk is detected.
//
// File format (all integers big-endian):
//   header  "SPBLOB01" | key nonce (12) | wrapped data key (32) | key tag (16)
//           | plaintext size (u64) | chunk size (u32) | nonce prefix (4)
//   chunks  ciphertext (chunk size, the last one shorter) | tag (16), repeated;
//           at least one chunk (an empty object is one empty final chunk)
// The key wrap authenticates the blob id, sizes and nonce prefix (AAD); chunk i
// uses nonce = prefix | u64(i) and AAD = blob id | u64(i) | final flag.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <array>
#include <mutex>
#include <set>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "sealport/core/crypto.hpp"
#include "sealport/core/secret.hpp"

namespace sealport::state {

struct BlobFailure {
    enum class Kind { no_space, io, corrupt, not_found, invalid };
    Kind kind = Kind::io;
    std::string detail;  // for logs; holds no patient data
};

struct StoredBlob {
    std::string id;  // 32 lowercase hex characters, random
    std::uint64_t size = 0;
    core::Sha256Digest sha256{};  // of the plaintext
};

template <typename T>
using BlobResult = std::variant<T, BlobFailure>;

inline constexpr std::size_t kBlobChunkSize = 64 * 1024;
inline constexpr std::size_t kBlobHeaderSize = 8 + 12 + 32 + 16 + 8 + 4 + 4;

class BlobStore;

// One blob being written as its plaintext arrives (a C-STORE data set is
// encrypted and on its way to the disk while the network still delivers it).
// Chunks are encrypted as they fill; the header, which names the final size, is
// written last. Nothing is visible under the blob's name before commit(); a
// writer destroyed without commit() removes its temporary file.
class BlobWriter {
public:
    ~BlobWriter();
    BlobWriter(const BlobWriter&) = delete;
    BlobWriter& operator=(const BlobWriter&) = delete;

    // Appends plaintext. After the first failure every call returns it again
    // and nothing more is written.
    std::optional<BlobFailure> write(std::span<const std::uint8_t> data);

    // Encrypts the last chunk, writes the header, fsyncs, renames into place
    // and fsyncs the directory. `sha256` is the plaintext's digest, which the
    // caller took while feeding write(). The writer is spent afterwards.
    [[nodiscard]] BlobResult<StoredBlob> commit(const core::Sha256Digest& sha256);

    // Removes the temporary file; idempotent.
    void abort() noexcept;

    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    [[nodiscard]] const std::optional<BlobFailure>& failed() const noexcept { return failed_; }

private:
    friend class BlobStore;
    struct Cipher;
    BlobWriter(BlobStore& store, std::string id);
    std::optional<BlobFailure> open();
    std::optional<BlobFailure> sealChunk(bool final);
    std::optional<BlobFailure> writeAll(const std::uint8_t* p, std::size_t n);

    BlobStore& store_;
    std::string id_;
    std::filesystem::path shard_, tmpPath_, finalPath_;
    int fd_ = -1;
    core::SecretBytes dataKey_;
    std::array<std::uint8_t, 4> prefix_{};
    std::unique_ptr<Cipher> cipher_;
    std::vector<std::uint8_t> plain_;   // the chunk being filled
    std::vector<std::uint8_t> sealed_;  // ciphertext | tag of one chunk
    std::uint64_t size_ = 0;
    std::uint64_t chunkIndex_ = 0;
    std::uint64_t written_ = 0;      // bytes of the file written so far
    std::uint64_t flushedUpTo_ = 0;  // bytes handed to write-back already
    std::optional<BlobFailure> failed_;
    bool done_ = false;
};

// Reads one blob's plaintext piece by piece, as a consumer asks for it (a
// download that goes only as fast as its client). Each 64 KiB chunk is
// authenticated before any of its bytes are handed out; the open file is
// the blob as it was when opened, even if it is removed meanwhile.
class BlobReader {
public:
    BlobReader(BlobReader&&) noexcept;
    BlobReader& operator=(BlobReader&&) noexcept;
    ~BlobReader();

    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    [[nodiscard]] std::uint64_t position() const noexcept { return position_; }

    // Copies up to out.size() bytes of plaintext into `out`; 0 at the end.
    // A chunk that does not authenticate is a `corrupt` failure, after which
    // every call fails the same way.
    [[nodiscard]] BlobResult<std::size_t> read(std::span<std::uint8_t> out);

private:
    friend class BlobStore;
    BlobReader() = default;

    int fd_ = -1;
    std::string id_;
    core::SecretBytes dataKey_;
    std::array<std::uint8_t, 4> prefix_{};
    std::uint64_t size_ = 0, position_ = 0;
    std::uint32_t chunk_ = 0;
    std::uint64_t chunks_ = 0, nextChunk_ = 0;
    std::vector<std::uint8_t> sealed_, plain_;
    std::size_t plainOffset_ = 0;
    std::optional<BlobFailure> failed_;
};

class BlobStore {
public:
    // The write(2) the store uses; replaceable so tests can inject a failure at
    // a chosen byte (the real disk-full case is tested on a small tmpfs too).
    using WriteFn = std::function<long(int fd, const void* data, std::size_t size)>;

    BlobStore(std::filesystem::path dir, const core::SecretBytes& blobKey);

    // Encrypts `data` and makes it durable: temporary file, fsync, rename,
    // fsync of the directory. On failure nothing is left behind.
    // `sha256`, when the caller already has the plaintext's digest, saves a pass.
    [[nodiscard]] BlobResult<StoredBlob> put(std::span<const std::uint8_t> data,
                                            std::optional<core::Sha256Digest> sha256 = std::nullopt);

    // Starts a blob whose plaintext is given piece by piece (see BlobWriter).
    [[nodiscard]] BlobResult<std::unique_ptr<BlobWriter>> begin();

    // Decrypts and authenticates the whole object.
    [[nodiscard]] BlobResult<core::Bytes> get(const std::string& id) const;

    // Opens a blob for reading piece by piece (see BlobReader).
    [[nodiscard]] BlobResult<BlobReader> open(const std::string& id) const;

    // Streams the plaintext in chunks to `sink`; stops at the first chunk that
    // does not authenticate (the sink has then seen only authentic bytes).
    [[nodiscard]] std::optional<BlobFailure> read(
        const std::string& id, const std::function<void(std::span<const std::uint8_t>)>& sink) const;

    [[nodiscard]] std::optional<std::uint64_t> plaintextSize(const std::string& id) const;

    // Removes a blob (e.g. when the catalogue commit that would name it failed).
    void remove(const std::string& id) noexcept;

    [[nodiscard]] std::filesystem::path pathOf(const std::string& id) const;
    [[nodiscard]] const std::filesystem::path& directory() const noexcept { return dir_; }

    void setWriteFunction(WriteFn fn) { write_ = std::move(fn); }

private:
    friend class BlobWriter;
    std::optional<BlobFailure> ensureShard(const std::string& id);

    std::filesystem::path dir_;
    const core::SecretBytes& key_;
    WriteFn write_;
    std::mutex shardsMutex_;
    std::set<std::string> shards_;  // shard directories known to exist
};

bool validBlobId(const std::string& id) noexcept;

}  // namespace sealport::state
