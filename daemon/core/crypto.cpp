#include "sealport/core/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace sealport::core {
namespace {

[[noreturn]] void throwOpenSsl(const char* what) {
    const unsigned long code = ERR_get_error();
    char buf[256] = {};
    ERR_error_string_n(code, buf, sizeof buf);
    ERR_clear_error();
    throw std::runtime_error(std::string(what) + ": " + buf);
}

}  // namespace

std::span<const std::uint8_t> asBytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
        throwOpenSsl("SHA-256 init");
}

void Sha256::update(std::span<const std::uint8_t> data) {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) throwOpenSsl("SHA-256 update");
}

Sha256Digest Sha256::finish() {
    Sha256Digest out{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) != 1 || len != out.size())
        throwOpenSsl("SHA-256 final");
    return out;
}

Sha256Digest sha256(std::span<const std::uint8_t> data) {
    Sha256 h;
    h.update(data);
    return h.finish();
}

std::string toHex(std::span<const std::uint8_t> data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size() * 2);
    for (std::uint8_t b : data) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0F]);
    }
    return out;
}

Bytes fromHex(std::string_view hex) {
    if (hex.size() % 2 != 0) throw std::invalid_argument("hex string has an odd length");
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    Bytes out(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(hex[2 * i]);
        const int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) throw std::invalid_argument("hex string has a non-hex character");
        out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return out;
}

SecretBytes hkdfSha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                       std::span<const std::uint8_t> info, std::size_t length) {
    EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
    if (!kdf) throwOpenSsl("HKDF fetch");
    EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
    if (!ctx) throwOpenSsl("HKDF context");
    char digest[] = "SHA256";
    // OSSL_PARAM takes non-const pointers but does not write through them here.
    // OpenSSL 3.0 refuses a null pointer even at length 0: point empty inputs at a dummy byte.
    static std::uint8_t empty = 0;
    auto ptr = [](std::span<const std::uint8_t> s) {
        return s.empty() ? &empty : const_cast<std::uint8_t*>(s.data());
    };
    auto* ikmPtr = ptr(ikm);
    auto* saltPtr = ptr(salt);
    auto* infoPtr = ptr(info);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikmPtr, ikm.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, saltPtr, salt.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, infoPtr, info.size()),
        OSSL_PARAM_construct_end(),
    };
    SecretBytes out(length);
    if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) throwOpenSsl("HKDF derive");
    return out;
}

void randomBytes(std::span<std::uint8_t> out) {
    if (out.empty()) return;
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) throwOpenSsl("RAND_bytes");
}

Ed25519Signer::Ed25519Signer(const SecretBytes& seed) {
    if (seed.size() != 32) throw std::invalid_argument("Ed25519 seed must be 32 bytes");
    key_.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
    if (!key_) throwOpenSsl("Ed25519 key");
    std::size_t len = 32;
    publicKey_.resize(len);
    if (EVP_PKEY_get_raw_public_key(key_.get(), publicKey_.data(), &len) != 1 || len != 32)
        throwOpenSsl("Ed25519 public key");
}

Bytes Ed25519Signer::sign(std::span<const std::uint8_t> message) const {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1)
        throwOpenSsl("Ed25519 sign init");
    std::size_t len = 64;
    Bytes sig(len);
    if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1)
        throwOpenSsl("Ed25519 sign");
    sig.resize(len);
    return sig;
}

std::string Ed25519Signer::fingerprint() const { return ed25519Fingerprint(publicKey_); }

bool ed25519Verify(std::span<const std::uint8_t> publicKey, std::span<const std::uint8_t> message,
                   std::span<const std::uint8_t> signature) {
    if (publicKey.size() != 32 || signature.size() != 64) return false;
    EvpPkeyPtr key(
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, publicKey.data(), publicKey.size()));
    if (!key) {
        ERR_clear_error();
        return false;
    }
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
        ERR_clear_error();
        return false;
    }
    const int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                                    message.size());
    ERR_clear_error();
    return rc == 1;
}

std::string ed25519Fingerprint(std::span<const std::uint8_t> publicKey) {
    const auto digest = sha256(publicKey);
    return toHex(digest);
}

bool constantTimeEqual(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sealport::core
