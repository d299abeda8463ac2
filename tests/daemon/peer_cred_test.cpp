#include "daemon/peer_cred.h"

#include <sys/socket.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "tests/catch.h"
#include "tests/support/socket_pair.h"

using namespace pisock;

TEST_CASE("a unix socket's peer is the process that connected, as the kernel says", "[peer-cred]")
{
    const test::SocketPair pair;
    const auto cred = peerCred(pair.subject.get());
    REQUIRE(cred);
    CHECK(cred->pid == ::getpid());
    CHECK(cred->uid == ::geteuid());
    CHECK(cred->gid == ::getegid());
}

TEST_CASE("other sockets have no peer credentials", "[peer-cred]")
{
    const UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    CHECK_FALSE(peerCred(tcp.get()));
    CHECK_FALSE(peerCred(-1));
}
