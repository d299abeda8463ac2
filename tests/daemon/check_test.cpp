#include "daemon/check.h"

#include <arpa/inet.h>
#include <cerrno>
#include <fstream>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "common/unique_fd.h"
#include "tests/catch.h"

using namespace pisock;

namespace {

// The holders of a socket this process holds open meanwhile, found by its inode.
std::vector<SocketHolder> holdersOfOwnSocket()
{
    const UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    struct stat st {
    };
    REQUIRE(::fstat(fd.get(), &st) == 0);
    return findHolders({ static_cast<unsigned long>(st.st_ino) });
}

// Real lines from a Linux 6.1 /proc/net/tcp and tcp6 (trailing columns shortened).
constexpr const char *kTcp =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0  "
        "      0 68332 1 00000000a7f81b8a 100 0 0 10 0\n"
        "   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0  "
        "      0 1627 1 0000000010d4f2c6 100 0 0 10 0\n"
        "   2: 0100007F:22B8 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0  "
        "      0 70001 1 0000000010d4f2c6 20 4 30 10 -1\n";
constexpr const char *kTcp6 =
        "  sl  local_address                         remote_address                        st "
        "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000000000000:22B8 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000   107        0 5555 1 0000000000000000 100 0 0 "
        "10 0\n"
        "   1: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000     0        0 6666 1 0000000000000000 100 0 0 "
        "10 0\n"
        "   2: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000     0        0 7777 1 0000000000000000 100 0 0 "
        "10 0\n";
constexpr const char *kUnix =
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/pisockd.sock\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 12346 @abstract name\n"
        "0000000000000000: 00000003 00000000 00000000 0001 03 12347 /run/connected.sock\n"
        "0000000000000000: 00000003 00000000 00000000 0001 03  12348\n";

Endpoint inet(const std::string &host, std::uint16_t port)
{
    return Endpoint{ Endpoint::Kind::Inet, host, port, {} };
}

Endpoint unixAt(const std::string &path)
{
    return Endpoint{ Endpoint::Kind::Unix, {}, 0, path };
}

} // namespace

TEST_CASE("listening IPv4 sockets are read from /proc/net/tcp", "[check]")
{
    const auto sockets = parseProcNetTcp(kTcp);
    REQUIRE(sockets.size() == 2);
    CHECK(sockets[0].host == "127.0.0.1");
    CHECK(sockets[0].port == 8888);
    CHECK(sockets[0].inode == 68332);
    CHECK(sockets[1].host == "0.0.0.0");
    CHECK(sockets[1].port == 2024);
}

TEST_CASE("listening IPv6 sockets are read from /proc/net/tcp6", "[check]")
{
    const auto sockets = parseProcNetTcp(kTcp6);
    REQUIRE(sockets.size() == 3);
    CHECK(sockets[0].host == "::");
    CHECK(sockets[0].port == 8888);
    CHECK(sockets[0].inode == 5555);
    CHECK(sockets[1].host == "::ffff:127.0.0.1");
    CHECK(sockets[2].host == "::1");
    CHECK(sockets[2].port == 8081);
}

TEST_CASE("listening unix sockets with a path are read from /proc/net/unix", "[check]")
{
    const auto sockets = parseProcNetUnix(kUnix);
    REQUIRE(sockets.size() == 2);
    CHECK(sockets[0].path == "/run/pisockd.sock");
    CHECK(sockets[0].inode == 12345);
    CHECK(sockets[1].path == "@abstract name");
}

TEST_CASE("garbage in a table is skipped, not fatal", "[check]")
{
    CHECK(parseProcNetTcp("").empty());
    CHECK(parseProcNetTcp("header\n   0: zzzz:22B8 x 0A a b c d e f\n\n").empty());
    CHECK(parseProcNetUnix("header\nshort line\n").empty());
}

TEST_CASE("an address collides with the same port on an overlapping address", "[check]")
{
    auto sockets = parseProcNetTcp(kTcp);
    const auto v6 = parseProcNetTcp(kTcp6);
    sockets.insert(sockets.end(), v6.begin(), v6.end());
    using Inodes = std::vector<unsigned long>;
    // [::]:8888 overlaps every address on 8888.
    CHECK(collidingInodes(inet("::", 8888), sockets) == Inodes{ 68332, 5555 });
    // 127.0.0.1:8888 collides with itself and with the [::] wildcard.
    CHECK(collidingInodes(inet("127.0.0.1", 8888), sockets) == Inodes{ 68332, 5555 });
    // 192.0.2.1:8888 only with the wildcard.
    CHECK(collidingInodes(inet("192.0.2.1", 8888), sockets) == Inodes{ 5555 });
    // IPv4-mapped is IPv4.
    CHECK(collidingInodes(inet("127.0.0.1", 8080), sockets) == Inodes{ 6666 });
    CHECK(collidingInodes(inet("::1", 8081), sockets) == Inodes{ 7777 });
    CHECK(collidingInodes(inet("::2", 8081), sockets).empty());
    CHECK(collidingInodes(inet("0.0.0.0", 9), sockets).empty());
    const auto unixSockets = parseProcNetUnix(kUnix);
    CHECK(collidingInodes(unixAt("/run/pisockd.sock"), unixSockets) == Inodes{ 12345 });
    CHECK(collidingInodes(unixAt("@abstract name"), unixSockets) == Inodes{ 12346 });
    CHECK(collidingInodes(unixAt("/run/connected.sock"), unixSockets).empty());
}

TEST_CASE("the process holding a socket is found by its inode", "[check]")
{
    const auto holders = holdersOfOwnSocket();
    REQUIRE(holders.size() == 1);
    CHECK(holders[0].pid == ::getpid());
    std::string comm;
    std::getline(std::ifstream("/proc/self/comm"), comm);
    CHECK(holders[0].name == comm);
    CHECK(findHolders({}).empty());
    CHECK(findHolders({ 1 }, "/nonexistent").empty());
}

TEST_CASE("holders are named in one phrase", "[check]")
{
    CHECK(describeHolders({ { 123, "pigpiod" } }) == "pigpiod (pid 123)");
    CHECK(describeHolders({ { 10, "nginx" }, { 11, "nginx" } }) == "nginx (pids 10, 11)");
    CHECK(describeHolders({ { 1, "systemd" }, { 2, "nginx" }, { 3, "nginx" }, { 4, "x" } }) ==
          "systemd (pid 1), nginx (pids 2, 3) and x (pid 4)");
}

TEST_CASE("a running pisockd or systemd holding the address is not a problem", "[check]")
{
    const uid_t me = ::geteuid();
    CHECK(classifyHolders({}) == HolderKind::Other);
    CHECK(classifyHolders({ { 612, "pigpiod", me, false } }) == HolderKind::Other);
    CHECK(classifyHolders({ { 700, "pisockd", me, true } }) == HolderKind::RunningDaemon);
    CHECK(classifyHolders({ { 1, "systemd", 0, false } }) == HolderKind::ServiceManager);
    CHECK(classifyHolders({ { 1, "systemd", 0, false }, { 700, "pisockd", me, true } }) ==
          HolderKind::Other);
    CHECK(classifyHolders({ { 55, "systemd", me, false } }) == HolderKind::Other); // a user's
    CHECK(classifyHolders({ { ::getpid(), "pisockd", me, true } }) == HolderKind::Other);
}

TEST_CASE("a process is the running daemon by its executable, never by its name", "[check]")
{
    const uid_t me = ::geteuid();
    // Any process can call itself pisockd (PR_SET_NAME).
    CHECK(classifyHolders({ { 700, "pisockd", me, false } }) == HolderKind::Other);
    // Our own executable under another name is still us.
    CHECK(classifyHolders({ { 700, "renamed", me, true } }) == HolderKind::RunningDaemon);
    // Another user's: only root may take it for the service (its sentence names the user).
    CHECK(classifyHolders({ { 700, "pisockd", me + 1, true } }) ==
          (me == 0 ? HolderKind::RunningDaemon : HolderKind::Other));
}

TEST_CASE("the holder found is this very process: same executable, same user", "[check]")
{
    const auto holders = holdersOfOwnSocket();
    REQUIRE(holders.size() == 1);
    CHECK(holders[0].sameExecutable);
    CHECK(holders[0].uid == ::geteuid());
}

TEST_CASE("process names are escaped when described", "[check]")
{
    CHECK(describeHolders({ { 9, "\x1b]0;owned\x07" } }) == "\\x1b]0;owned\\x07 (pid 9)");
    CHECK(describeHolders({ { 9, "a\nb\xe2\x80\xae" } }) == "a\\x0ab\\u202e (pid 9)");
}

TEST_CASE("a port below 1024 refused at startup gets --check's hint about the capability",
          "[check]")
{
    const Endpoint any{ Endpoint::Kind::Inet, "", 80, {} };
    CHECK(listenHint(any, EACCES) == "port 80 on * needs root or the CAP_NET_BIND_SERVICE "
                                     "capability");
    const Endpoint high{ Endpoint::Kind::Inet, "127.0.0.1", 8080, {} };
    CHECK(listenHint(high, EACCES).empty());
    CHECK(listenHint(any, EINVAL).empty());
}
