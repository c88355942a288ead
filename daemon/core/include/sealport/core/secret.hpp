#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sealport::core {

// Key material. Not copyable (a copy is one more place to wipe), wiped with
// OPENSSL_cleanse on destruction and on move-from, compared in constant time,
// locked in memory where the kernel allows it, and never formattable.
class SecretBytes {
public:
    SecretBytes() noexcept = default;
    explicit SecretBytes(std::size_t size);
    SecretBytes(std::span<const std::uint8_t> bytes);
    ~SecretBytes();

    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    SecretBytes(SecretBytes&& other) noexcept;
    SecretBytes& operator=(SecretBytes&& other) noexcept;

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::uint8_t* data() noexcept { return data_; }
    [[nodiscard]] const std::uint8_t* data() const noexcept { return data_; }
    [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return {data_, size_}; }

    // Constant-time for equal sizes.
    [[nodiscard]] bool equals(std::span<const std::uint8_t> other) const noexcept;

private:
    void release() noexcept;
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace sealport::core
