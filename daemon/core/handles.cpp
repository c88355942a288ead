#include "sealport/core/handles.hpp"

#include <unistd.h>

namespace sealport::core {

void UniqueFd::reset(int fd) noexcept {
    if (fd_ >= 0) (void)::close(fd_);
    fd_ = fd;
}

}  // namespace sealport::core
