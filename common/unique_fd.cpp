#include "unique_fd.h"

#include <unistd.h>

namespace pisock {

void UniqueFd::reset(int fd) noexcept
{
    // Linux releases the descriptor even when close() fails (EINTR included),
    // so retrying could close a descriptor another part of the program just got.
    if (fd_ >= 0 && fd_ != fd)
        ::close(fd_);
    fd_ = fd;
}

} // namespace pisock
