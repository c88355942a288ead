#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace sealport::core {

// Reads until EOF or the buffer is full; retries EINTR. Returns the bytes read.
std::size_t readAll(int fd, std::span<std::uint8_t> buf);
// Writes everything; retries EINTR and short writes. Throws std::system_error.
void writeAll(int fd, std::span<const std::uint8_t> data);
void fsyncDirectory(const std::filesystem::path& dir);

// Creates `dir` (0700) if missing; refuses a symlink, a non-directory, one not
// owned by us, or one that group or others may write to. Tightens 0755-style
// modes to 0700 when `tighten` is set.
void ensurePrivateDirectory(const std::filesystem::path& dir);

// temp file in the same directory, fsync, rename over `path`, fsync the directory.
void writeFileAtomically(const std::filesystem::path& path, std::span<const std::uint8_t> data,
                         unsigned mode);

}  // namespace sealport::core
