// What pisockd says and does at startup: -p/--port as a short form of --listen, the first log
// line naming mode and framing. (A port in use at startup: listen_test.cpp.)

#include <netinet/in.h>
#include <string>
#include <sys/socket.h>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

// A port free a moment ago on [::] (the kernel picks it; the socket is closed again).
std::uint16_t freePort()
{
    UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr *>(&any), sizeof(any)) == 0);
    return localPort(fd.get());
}

} // namespace

TEST_CASE("-p and --port listen on [::]:PORT, as --listen PORT does", "[e2e][startup]")
{
    for (const char *option : { "-p", "--port" }) {
        INFO(option);
        const std::string port = std::to_string(freePort());
        Daemon d({ "--config", "/dev/null", option, port }, noActivation());
        CHECK(d.waitForLog("listening on [::]:" + port + "\n"));
        Client c("127.0.0.1", static_cast<std::uint16_t>(std::stoi(port)));
        CHECK(roundTrip(c, "by port"));
        c.close();
        CHECK(d.stop() == 0);
    }
}

TEST_CASE("--port takes a port number only", "[e2e][startup]")
{
    for (const char *bad : { "127.0.0.1:9000", "http", "70000", "" }) {
        INFO(bad);
        const auto r = runProcess({ daemonPath(), "--config", "/dev/null", "--port", bad });
        CHECK(r.status == 64);
        CHECK(r.err.find("pisockd: --port: '" + std::string(bad) +
                         "' is not a port number (0 to 65535; for an address, use --listen)") !=
              std::string::npos);
    }
}

TEST_CASE("the first log line names the mode and the framing", "[e2e][startup]")
{
    {
        Daemon d({ "--mode", "broadcast", "--framing", "raw" });
        const std::string log = d.log();
        CHECK(log.find(" info    pisockd ") < log.find('\n'));
        CHECK(log.find(" starting: broadcast mode, raw framing\n") < log.find('\n') + 1);
        CHECK(d.stop() == 0);
    }
    {
        Daemon d;
        CHECK(d.log().find(" starting: reply mode, line framing\n") != std::string::npos);
        CHECK(d.stop() == 0);
    }
    {
        Daemon d({ "--mode", "echo" });
        CHECK(d.log().find(" starting: echo mode (every byte back, no framing)\n") !=
              std::string::npos);
        CHECK(d.stop() == 0);
    }
}
