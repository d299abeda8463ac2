#pragma once

#include <optional>
#include <sys/types.h>

namespace pisock {

// Who is at the other end of a unix socket, as the kernel recorded it when the client called
// connect() (SO_PEERCRED): unlike the address a client binds to, nothing it can choose.
struct PeerCred {
    pid_t pid = 0; // 0 when the client is in another PID namespace
    uid_t uid = 0;
    gid_t gid = 0;
};

// The credentials of fd's peer; nothing if fd is not a connected unix socket. Borrows fd.
// Read once per client, at accept, by whoever needs them.
std::optional<PeerCred> peerCred(int fd) noexcept;

} // namespace pisock
