#include "socket_options.h"

#include <algorithm>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

namespace pisock {

namespace {

int setInt(int fd, int level, int name, int value) noexcept
{
    return ::setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

} // namespace

int tuneAcceptedSocket(int fd, unsigned keepaliveSec) noexcept
{
    if (int err = setInt(fd, IPPROTO_TCP, TCP_NODELAY, 1); err < 0)
        return err;
    if (keepaliveSec == 0)
        return 0;
    const int idle = static_cast<int>(std::min(keepaliveSec, kMaxKeepaliveSec));
    const int interval = std::max(1, idle / 3);
    const int options[][3] = { { IPPROTO_TCP, TCP_KEEPIDLE, idle },
                               { IPPROTO_TCP, TCP_KEEPINTVL, interval },
                               { IPPROTO_TCP, TCP_KEEPCNT, 3 },
                               { SOL_SOCKET, SO_KEEPALIVE, 1 } };
    for (const auto &[level, name, value] : options)
        if (int err = setInt(fd, level, name, value); err < 0)
            return err;
    return 0;
}

std::size_t raiseFdLimit(std::size_t want) noexcept
{
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return 0;
    if (lim.rlim_cur < want && lim.rlim_cur != RLIM_INFINITY) {
        rlimit wanted = lim;
        wanted.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want
                                                        : std::min<rlim_t>(want, lim.rlim_max);
        if (::setrlimit(RLIMIT_NOFILE, &wanted) == 0)
            lim = wanted;
    }
    return lim.rlim_cur == RLIM_INFINITY ? want : static_cast<std::size_t>(lim.rlim_cur);
}

} // namespace pisock
