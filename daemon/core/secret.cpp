#include "sealport/core/secret.hpp"

#include <openssl/crypto.h>
#include <sys/mman.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace sealport::core {

namespace {

// Each secret gets whole pages of its own, so that locking and unlocking one
// (mlock works on pages) never unlocks a page another secret still uses.
std::size_t pageRounded(std::size_t size) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return (std::max<std::size_t>(size, 1) + page - 1) / page * page;
}

std::uint8_t* allocatePages(std::size_t size) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    void* p = std::aligned_alloc(page, pageRounded(size));
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, 0, pageRounded(size));
    return static_cast<std::uint8_t*>(p);
}

}  // namespace

SecretBytes::SecretBytes(std::size_t size) : data_(allocatePages(size)), size_(size) {
    // Best effort: keep key material out of swap. Failure (RLIMIT_MEMLOCK) is not fatal.
    (void)::mlock(data_, pageRounded(size_));
}

SecretBytes::SecretBytes(std::span<const std::uint8_t> bytes) : SecretBytes(bytes.size()) {
    if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

SecretBytes::~SecretBytes() { release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
        release();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

bool SecretBytes::equals(std::span<const std::uint8_t> other) const noexcept {
    if (other.size() != size_) return false;
    if (size_ == 0) return true;
    return CRYPTO_memcmp(data_, other.data(), size_) == 0;
}

void SecretBytes::release() noexcept {
    if (data_ == nullptr) return;
    OPENSSL_cleanse(data_, size_);
    (void)::munlock(data_, pageRounded(size_));
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
}

}  // namespace sealport::core
