// Instances sharing a port (pisockd@.service): with reuse-port, two daemons listen on the
// same address, the kernel spreads the clients over both, each answers its own --stats, and
// when one stops the other takes every new client. Without reuse-port the port stays taken.

#include <regex>
#include <string>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

// "served" from pisockd --stats --json of the daemon at socket; -1 if it did not answer.
long served(const std::string &socket)
{
    const ProcessResult r =
            runProcess({ daemonPath(), "--stats", "--json", "--control-socket", socket });
    std::smatch m;
    static const std::regex re("\"served\":([0-9]+)");
    if (r.status != 0 || !std::regex_search(r.out, m, re))
        return -1;
    return std::stol(m[1]);
}

} // namespace

TEST_CASE("two daemons with reuse-port share a port and both serve", "[e2e][instances]")
{
    TempDir dir;
    const std::string one = dir.path() + "/1.sock";
    const std::string two = dir.path() + "/2.sock";
    Daemon first({ "--listen", "127.0.0.1:0", "--reuse-port", "yes", "--control-socket", one },
                 noActivation());
    const std::uint16_t port = loggedPort(first);
    REQUIRE(port != 0);
    const std::string address = "127.0.0.1:" + std::to_string(port);
    Daemon second({ "--listen", address, "--reuse-port", "yes", "--control-socket", two },
                  noActivation());

    // The kernel picks a socket by a hash of the client's address and port: 64 clients, each
    // from its own port, all land on one side with a chance of 2 in 2^64.
    constexpr int kClients = 64;
    for (int i = 0; i < kClients; ++i) {
        Client c(port);
        REQUIRE(roundTrip(c, "client " + std::to_string(i)));
    }
    const long a = served(one);
    const long b = served(two);
    INFO("first served " << a << ", second " << b);
    CHECK(a > 0);
    CHECK(b > 0);
    CHECK(a + b == kClients);

    // One stops: its socket leaves the group, and every new client goes to the other.
    CHECK(first.stop() == 0);
    for (int i = 0; i < 16; ++i) {
        Client c(port);
        REQUIRE(roundTrip(c, "after"));
    }
    CHECK(served(two) == b + 16);

    // A daemon without reuse-port cannot join: the port is in use.
    const ProcessResult r =
            runProcess({ daemonPath(), "--listen", address, "--control-socket", "none" });
    CHECK(r.status == 71);
    CHECK(r.err.find("cannot bind " + address + ": Address already in use") != std::string::npos);
}
