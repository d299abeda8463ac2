// Echo mode end to end: binary-safe, byte-exact, with half-close.

#include <cerrno>
#include <poll.h>
#include <string>
#include <sys/socket.h>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

// Writes all of data while reading the echo, so neither side's buffers fill up and stall.
std::string pump(int fd, const std::string &data, bool halfClose)
{
    std::string got;
    std::size_t sent = 0;
    bool shut = false;
    const auto deadline = Clock::now() + 30s;
    while (got.size() < data.size() && Clock::now() < deadline) {
        if (sent == data.size() && halfClose && !shut) {
            ::shutdown(fd, SHUT_WR);
            shut = true;
        }
        pollfd p{ fd, static_cast<short>(POLLIN | (sent < data.size() ? POLLOUT : 0)), 0 };
        if (::poll(&p, 1, 1000) <= 0)
            continue;
        if (p.revents & POLLOUT) {
            const ssize_t n = ::send(fd, data.data() + sent,
                                     std::min<std::size_t>(data.size() - sent, 65536),
                                     MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<std::size_t>(n);
        }
        if (p.revents & (POLLIN | POLLHUP)) {
            char buf[65536];
            const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n == 0)
                break;
            if (n > 0)
                got.append(buf, static_cast<std::size_t>(n));
        }
    }
    return got;
}

} // namespace

TEST_CASE("4 MiB of random bytes are echoed byte-exact", "[e2e][echo]")
{
    Daemon d({ "--mode", "echo" });
    Client c(d.port());
    const std::string data = randomBytes(4 * 1024 * 1024, 7);
    const std::string got = pump(c.fd(), data, false);
    CHECK(got.size() == data.size());
    CHECK(got == data);
}

TEST_CASE("echo with a half-close right after sending returns everything, then EOF", "[e2e][echo]")
{
    Daemon d({ "--mode", "echo" });
    Client c(d.port());
    const std::string data = randomBytes(4 * 1024 * 1024, 11);
    const std::string got = pump(c.fd(), data, true);
    CHECK(got.size() == data.size());
    CHECK(got == data);
    CHECK(c.waitForEof());
}

TEST_CASE("a small message sent then half-closed is echoed", "[e2e][echo]")
{
    Daemon d({ "--mode", "echo" });
    Client c(d.port());
    c.send(std::string("no framing\0\r\nquit\n", 19));
    c.shutdownWrite();
    bool timedOut = true;
    CHECK(c.readToEof(10s, &timedOut) == std::string("no framing\0\r\nquit\n", 19));
    CHECK_FALSE(timedOut);
}

TEST_CASE("quit means nothing in echo mode", "[e2e][echo]")
{
    Daemon d({ "--mode", "echo" });
    Client c(d.port());
    c.send("quit\n");
    CHECK(c.readLine() == "quit");
    c.send("still here\n");
    CHECK(c.readLine() == "still here");
}
