#include "peer_cred.h"

#include <sys/socket.h>

namespace pisock {

std::optional<PeerCred> peerCred(int fd) noexcept
{
    // The kernel answers SO_PEERCRED for any socket, with "nobody" where no process stands
    // behind the peer (TCP): ask only a unix socket.
    int domain = 0;
    socklen_t size = sizeof(domain);
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0 || domain != AF_UNIX)
        return std::nullopt;
    ucred cred{};
    socklen_t length = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0 || length != sizeof(cred))
        return std::nullopt;
    return PeerCred{ cred.pid, cred.uid, cred.gid };
}

} // namespace pisock
