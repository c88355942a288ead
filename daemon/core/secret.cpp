#include "sealport/core/secret.hpp"

#include <openssl/crypto.h>
#include <sys/mman.h>

#include <cstring>
#include <new>
#include <utility>

namespace sealport::core {

SecretBytes::SecretBytes(std::size_t size) : data_(new std::uint8_t[size]()), size_(size) {
    // Best effort: keep key material out of swap. Failure (RLIMIT_MEMLOCK) is not fatal.
    if (size_ > 0) (void)::mlock(data_, size_);
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
    (void)::munlock(data_, size_);
    delete[] data_;
    data_ = nullptr;
    size_ = 0;
}

}  // namespace sealport::core
