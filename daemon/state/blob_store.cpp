#include "sealport/state/blob_store.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "sealport/core/files.hpp"
#include "sealport/core/handles.hpp"

namespace sealport::state {
namespace {

constexpr std::array<std::uint8_t, 8> kMagic = {'S', 'P', 'B', 'L', 'O', 'B', '0', '1'};
constexpr std::size_t kTag = 16;
constexpr std::size_t kNonce = 12;

struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

void putU64(core::Bytes& out, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void putU32(core::Bytes& out, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t getU64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return v;
}
std::uint32_t getU32(const std::uint8_t* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
    return v;
}

// One AES-256-GCM operation. Returns false when the tag does not verify.
bool gcm(bool encrypt, std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
         std::span<const std::uint8_t> aad, std::span<const std::uint8_t> in, std::uint8_t* out,
         std::uint8_t* tag) {
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx) return false;
    auto init = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex;
    if (init(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1) return false;
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1)
        return false;
    if (init(ctx.get(), nullptr, nullptr, key.data(), nonce.data()) != 1) return false;
    int len = 0;
    auto update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    if (!aad.empty() && update(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)
        return false;
    if (!in.empty() && update(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) != 1) return false;
    if (encrypt) {
        if (EVP_EncryptFinal_ex(ctx.get(), out + in.size(), &len) != 1) return false;
        return EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag) == 1;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag) != 1) return false;
    return EVP_DecryptFinal_ex(ctx.get(), out + in.size(), &len) == 1;
}

// The AADs are assembled into buffers sized up front: GCC 12 at -O2 reports a
// false stringop-overflow for vector::insert after reserve (GCC PR 106199).
class Assembler {
public:
    explicit Assembler(std::size_t size) : out_(size) {}
    Assembler& bytes(const void* p, std::size_t n) {
        if (n > 0) std::memcpy(out_.data() + pos_, p, n);
        pos_ += n;
        return *this;
    }
    Assembler& u64(std::uint64_t v) {
        for (int i = 7; i >= 0; --i) out_[pos_++] = static_cast<std::uint8_t>(v >> (8 * i));
        return *this;
    }
    Assembler& u32(std::uint32_t v) {
        for (int i = 3; i >= 0; --i) out_[pos_++] = static_cast<std::uint8_t>(v >> (8 * i));
        return *this;
    }
    Assembler& u8(std::uint8_t v) {
        out_[pos_++] = v;
        return *this;
    }
    core::Bytes done() { return std::move(out_); }

private:
    core::Bytes out_;
    std::size_t pos_ = 0;
};

core::Bytes chunkAad(const std::string& id, std::uint64_t index, bool final) {
    return Assembler(id.size() + 9).bytes(id.data(), id.size()).u64(index).u8(final ? 1 : 0).done();
}

core::Bytes headerAad(const std::string& id, std::uint64_t size, std::uint32_t chunk,
                      std::span<const std::uint8_t> prefix) {
    return Assembler(kMagic.size() + id.size() + 12 + prefix.size())
        .bytes(kMagic.data(), kMagic.size())
        .bytes(id.data(), id.size())
        .u64(size)
        .u32(chunk)
        .bytes(prefix.data(), prefix.size())
        .done();
}

std::array<std::uint8_t, kNonce> chunkNonce(std::span<const std::uint8_t> prefix, std::uint64_t i) {
    std::array<std::uint8_t, kNonce> n{};
    std::copy(prefix.begin(), prefix.end(), n.begin());
    for (int b = 0; b < 8; ++b) n[static_cast<std::size_t>(4 + b)] = static_cast<std::uint8_t>(i >> (8 * (7 - b)));
    return n;
}

BlobFailure failure(BlobFailure::Kind k, std::string detail) { return BlobFailure{k, std::move(detail)}; }

BlobFailure ioFailure(const std::string& what, int err) {
    return failure(err == ENOSPC || err == EDQUOT ? BlobFailure::Kind::no_space : BlobFailure::Kind::io,
                   what + ": " + std::strerror(err));
}

}  // namespace

bool validBlobId(const std::string& id) noexcept {
    if (id.size() != 32) return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

BlobStore::BlobStore(std::filesystem::path dir, const core::SecretBytes& blobKey)
    : dir_(std::move(dir)), key_(blobKey), write_([](int fd, const void* d, std::size_t n) {
          return static_cast<long>(::write(fd, d, n));
      }) {
    if (key_.size() != 32) throw std::invalid_argument("the blob key must be 32 bytes");
    core::ensurePrivateDirectory(dir_);
}

std::filesystem::path BlobStore::pathOf(const std::string& id) const {
    return dir_ / id.substr(0, 2) / id;
}

std::optional<BlobFailure> BlobStore::ensureShard(const std::string& id) {
    const std::string name = id.substr(0, 2);
    std::lock_guard lock(shardsMutex_);
    if (shards_.count(name) != 0) return std::nullopt;
    if (::mkdir((dir_ / name).c_str(), 0700) != 0 && errno != EEXIST) return ioFailure("mkdir blob shard", errno);
    shards_.insert(name);
    return std::nullopt;
}

BlobResult<std::unique_ptr<BlobWriter>> BlobStore::begin() {
    std::uint8_t idBytes[16];
    core::randomBytes(idBytes);
    std::unique_ptr<BlobWriter> w(new BlobWriter(*this, core::toHex(idBytes)));
    if (auto f = w->open()) return *f;
    return w;
}

BlobResult<StoredBlob> BlobStore::put(std::span<const std::uint8_t> data,
                                      std::optional<core::Sha256Digest> sha256) {
    auto begun = begin();
    if (auto* f = std::get_if<BlobFailure>(&begun)) return *f;
    auto& writer = *std::get<std::unique_ptr<BlobWriter>>(begun);
    if (auto f = writer.write(data)) return *f;
    return writer.commit(sha256 ? *sha256 : core::sha256(data));
}

// The data key is scheduled once per blob; each chunk only sets its nonce.
struct BlobWriter::Cipher {
    CipherCtxPtr ctx{EVP_CIPHER_CTX_new()};
};

namespace {
// Write-back of the blob starts while it is still being written, so that the
// fsync at commit waits for the last part only.
constexpr std::uint64_t kWriteBackStride = 256 * 1024;
}  // namespace

BlobWriter::BlobWriter(BlobStore& store, std::string id)
    : store_(store), id_(std::move(id)), dataKey_(32), cipher_(std::make_unique<Cipher>()) {
    shard_ = store_.dir_ / id_.substr(0, 2);
    finalPath_ = shard_ / id_;
    tmpPath_ = shard_ / ("." + id_ + ".tmp");
}

BlobWriter::~BlobWriter() {
    if (!done_) abort();
}

std::optional<BlobFailure> BlobWriter::open() {
    core::randomBytes(std::span<std::uint8_t>(dataKey_.data(), dataKey_.size()));
    core::randomBytes(prefix_);
    if (!cipher_->ctx ||
        EVP_EncryptInit_ex(cipher_->ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(cipher_->ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonce), nullptr) != 1 ||
        EVP_EncryptInit_ex(cipher_->ctx.get(), nullptr, nullptr, dataKey_.data(), nullptr) != 1)
        return failed_ = failure(BlobFailure::Kind::io, "cipher setup failed");
    if (auto f = store_.ensureShard(id_)) return failed_ = *f;
    fd_ = ::open(tmpPath_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) return failed_ = ioFailure("create blob", errno);
    plain_.reserve(kBlobChunkSize);
    sealed_.resize(kBlobChunkSize + kTag);
    // The header names the final size, so it is written last; its place is
    // taken now, which also makes a disk-full header write impossible later.
    const std::array<std::uint8_t, kBlobHeaderSize> placeholder{};
    return writeAll(placeholder.data(), placeholder.size());
}

std::optional<BlobFailure> BlobWriter::writeAll(const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const long w = store_.write_(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return failed_ = ioFailure("write blob", errno);
        }
        if (w == 0) return failed_ = ioFailure("write blob", ENOSPC);
        p += w;
        n -= static_cast<std::size_t>(w);
        written_ += static_cast<std::uint64_t>(w);
    }
    return std::nullopt;
}

std::optional<BlobFailure> BlobWriter::sealChunk(bool final) {
    EVP_CIPHER_CTX* ctx = cipher_->ctx.get();
    const auto nonce = chunkNonce(prefix_, chunkIndex_);
    const auto aad = chunkAad(id_, chunkIndex_, final);
    const std::size_t n = plain_.size();
    int len = 0;
    if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
        EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
        (n > 0 && EVP_EncryptUpdate(ctx, sealed_.data(), &len, plain_.data(), static_cast<int>(n)) != 1) ||
        EVP_EncryptFinal_ex(ctx, sealed_.data() + n, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, sealed_.data() + n) != 1)
        return failed_ = failure(BlobFailure::Kind::io, "encryption failed");
    plain_.clear();
    ++chunkIndex_;
    if (auto f = writeAll(sealed_.data(), n + kTag)) return f;
    if (written_ - flushedUpTo_ >= kWriteBackStride) {
        // A hint only: the fsync at commit is what makes the blob durable.
        ::sync_file_range(fd_, static_cast<off_t>(flushedUpTo_), static_cast<off_t>(written_ - flushedUpTo_),
                          SYNC_FILE_RANGE_WRITE);
        flushedUpTo_ = written_;
    }
    return std::nullopt;
}

std::optional<BlobFailure> BlobWriter::write(std::span<const std::uint8_t> data) {
    if (failed_) return failed_;
    if (done_) return failed_ = failure(BlobFailure::Kind::invalid, "blob already committed");
    while (!data.empty()) {
        if (plain_.size() == kBlobChunkSize)  // full, and more follows: not the final chunk
            if (auto f = sealChunk(false)) return f;
        const std::size_t n = std::min(data.size(), kBlobChunkSize - plain_.size());
        plain_.insert(plain_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
        data = data.subspan(n);
        size_ += n;
    }
    return std::nullopt;
}

BlobResult<StoredBlob> BlobWriter::commit(const core::Sha256Digest& sha256) {
    if (failed_) return *failed_;
    if (done_) return failure(BlobFailure::Kind::invalid, "blob already committed");
    if (auto f = sealChunk(true)) return *f;

    std::array<std::uint8_t, kNonce> keyNonce{};
    core::randomBytes(keyNonce);
    std::array<std::uint8_t, 32> wrapped{};
    std::array<std::uint8_t, kTag> keyTag{};
    if (!gcm(true, store_.key_.bytes(), keyNonce, headerAad(id_, size_, kBlobChunkSize, prefix_), dataKey_.bytes(),
             wrapped.data(), keyTag.data()))
        return *(failed_ = failure(BlobFailure::Kind::io, "key wrap failed"));
    core::Bytes header(kMagic.begin(), kMagic.end());
    header.insert(header.end(), keyNonce.begin(), keyNonce.end());
    header.insert(header.end(), wrapped.begin(), wrapped.end());
    header.insert(header.end(), keyTag.begin(), keyTag.end());
    putU64(header, size_);
    putU32(header, static_cast<std::uint32_t>(kBlobChunkSize));
    header.insert(header.end(), prefix_.begin(), prefix_.end());
    if (::lseek(fd_, 0, SEEK_SET) != 0) return *(failed_ = ioFailure("seek blob", errno));
    if (auto f = writeAll(header.data(), header.size())) return *f;

    if (::fsync(fd_) != 0) return *(failed_ = ioFailure("fsync blob", errno));
    ::close(fd_);
    fd_ = -1;
    if (::rename(tmpPath_.c_str(), finalPath_.c_str()) != 0) return *(failed_ = ioFailure("rename blob", errno));
    try {
        core::fsyncDirectory(shard_);
    } catch (const std::system_error& e) {
        ::unlink(finalPath_.c_str());
        return *(failed_ = ioFailure("fsync blob directory", e.code().value()));
    }
    done_ = true;
    return StoredBlob{id_, size_, sha256};
}

void BlobWriter::abort() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!done_) ::unlink(tmpPath_.c_str());
    done_ = true;
}

std::optional<std::uint64_t> BlobStore::plaintextSize(const std::string& id) const {
    if (!validBlobId(id)) return std::nullopt;
    core::UniqueFd fd(::open(pathOf(id).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::uint8_t h[kBlobHeaderSize];
    if (core::readAll(fd.get(), h) != kBlobHeaderSize || std::memcmp(h, kMagic.data(), kMagic.size()) != 0) return std::nullopt;
    return getU64(h + 68);
}

BlobResult<BlobReader> BlobStore::open(const std::string& id) const {
    if (!validBlobId(id)) return failure(BlobFailure::Kind::invalid, "not a blob id");
    BlobReader r;
    r.id_ = id;
    r.fd_ = ::open(pathOf(id).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (r.fd_ < 0) {
        const int err = errno;
        return err == ENOENT ? failure(BlobFailure::Kind::not_found, "blob " + id + " is missing")
                             : ioFailure("open blob", err);
    }
    struct stat st{};
    if (::fstat(r.fd_, &st) != 0 || !S_ISREG(st.st_mode)) return failure(BlobFailure::Kind::corrupt, "not a file");
    std::uint8_t h[kBlobHeaderSize];
    if (core::readAll(r.fd_, h) != kBlobHeaderSize || std::memcmp(h, kMagic.data(), kMagic.size()) != 0)
        return failure(BlobFailure::Kind::corrupt, "blob " + id + " has no valid header");
    const std::uint8_t* keyNonce = h + 8;
    const std::uint8_t* wrapped = h + 20;
    std::uint8_t keyTag[kTag];
    std::memcpy(keyTag, h + 52, kTag);
    r.size_ = getU64(h + 68);
    r.chunk_ = getU32(h + 76);
    std::memcpy(r.prefix_.data(), h + 80, r.prefix_.size());
    if (r.chunk_ == 0 || r.chunk_ > 16U * 1024U * 1024U) return failure(BlobFailure::Kind::corrupt, "bad chunk size");
    r.chunks_ = r.size_ == 0 ? 1 : (r.size_ + r.chunk_ - 1) / r.chunk_;
    const auto expectedFile = kBlobHeaderSize + r.size_ + r.chunks_ * kTag;
    if (static_cast<std::uint64_t>(st.st_size) != expectedFile)
        return failure(BlobFailure::Kind::corrupt, "blob " + id + " has the wrong length");
    r.dataKey_ = core::SecretBytes(32);
    if (!gcm(false, key_.bytes(), std::span<const std::uint8_t>(keyNonce, kNonce),
             headerAad(id, r.size_, r.chunk_, r.prefix_), std::span<const std::uint8_t>(wrapped, 32),
             r.dataKey_.data(), keyTag))
        return failure(BlobFailure::Kind::corrupt, "blob " + id + ": the data key does not authenticate");
    r.sealed_.resize(r.chunk_ + kTag);
    r.plain_.reserve(r.chunk_);
    return r;
}

BlobReader::BlobReader(BlobReader&& o) noexcept { *this = std::move(o); }

BlobReader& BlobReader::operator=(BlobReader&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        id_ = std::move(o.id_);
        dataKey_ = std::move(o.dataKey_);
        prefix_ = o.prefix_;
        size_ = o.size_;
        position_ = o.position_;
        chunk_ = o.chunk_;
        chunks_ = o.chunks_;
        nextChunk_ = o.nextChunk_;
        sealed_ = std::move(o.sealed_);
        plain_ = std::move(o.plain_);
        plainOffset_ = o.plainOffset_;
        failed_ = std::move(o.failed_);
    }
    return *this;
}

BlobReader::~BlobReader() {
    if (fd_ >= 0) ::close(fd_);
}

BlobResult<std::size_t> BlobReader::read(std::span<std::uint8_t> out) {
    if (failed_) return *failed_;
    if (fd_ < 0) return *(failed_ = failure(BlobFailure::Kind::invalid, "blob reader not open"));
    if (plainOffset_ == plain_.size()) {
        if (nextChunk_ == chunks_) return std::size_t{0};
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk_, size_ - nextChunk_ * chunk_));
        if (core::readAll(fd_, std::span<std::uint8_t>(sealed_.data(), n + kTag)) != n + kTag)
            return *(failed_ = failure(BlobFailure::Kind::corrupt, "blob " + id_ + " is truncated"));
        plain_.resize(n);
        const bool final = nextChunk_ + 1 == chunks_;
        if (!gcm(false, dataKey_.bytes(), chunkNonce(prefix_, nextChunk_), chunkAad(id_, nextChunk_, final),
                 std::span<const std::uint8_t>(sealed_.data(), n), plain_.data(), sealed_.data() + n)) {
            plain_.clear();
            return *(failed_ = failure(BlobFailure::Kind::corrupt, "blob " + id_ + ": chunk " +
                                                                     std::to_string(nextChunk_) +
                                                                     " does not authenticate"));
        }
        ++nextChunk_;
        plainOffset_ = 0;
        if (n == 0) return std::size_t{0};  // the one empty final chunk of an empty blob
    }
    const std::size_t k = std::min(out.size(), plain_.size() - plainOffset_);
    std::memcpy(out.data(), plain_.data() + plainOffset_, k);
    plainOffset_ += k;
    position_ += k;
    return k;
}

std::optional<BlobFailure> BlobStore::read(
    const std::string& id, const std::function<void(std::span<const std::uint8_t>)>& sink) const {
    auto opened = open(id);
    if (auto* f = std::get_if<BlobFailure>(&opened)) return *f;
    BlobReader& r = std::get<BlobReader>(opened);
    std::vector<std::uint8_t> buf(kBlobChunkSize);
    for (;;) {
        auto got = r.read(buf);
        if (auto* f = std::get_if<BlobFailure>(&got)) return *f;
        const std::size_t n = std::get<std::size_t>(got);
        if (n == 0) return std::nullopt;
        sink(std::span<const std::uint8_t>(buf.data(), n));
    }
}

BlobResult<core::Bytes> BlobStore::get(const std::string& id) const {
    core::Bytes all;
    if (auto size = plaintextSize(id); size && *size < (1ULL << 32)) all.reserve(static_cast<std::size_t>(*size));
    if (auto f = read(id, [&](std::span<const std::uint8_t> c) { all.insert(all.end(), c.begin(), c.end()); }))
        return *f;
    return all;
}

void BlobStore::remove(const std::string& id) noexcept {
    if (!validBlobId(id)) return;
    ::unlink(pathOf(id).c_str());
}

}  // namespace sealport::state
