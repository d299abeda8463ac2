#pragma once

// The fixture of the unit tests that play the peer of a socket object (Connection,
// RefusalQueue, Exchange...): a connected pair of unix stream sockets, both ends owned and
// born as the daemon's sockets are, non-blocking and close-on-exec.

#include <sys/socket.h>

#include "common/unique_fd.h"
#include "tests/catch.h"

namespace pisock::test {

struct SocketPair {
    UniqueFd subject; // the end handed to the code under test
    UniqueFd peer; // the end the test reads and writes

    SocketPair()
    {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        subject.reset(fds[0]);
        peer.reset(fds[1]);
    }
};

} // namespace pisock::test
