// Debian's HAProxy in front of two pisockd, with the example configuration the package ships
// (docs/examples/haproxy.cfg): clients are spread over both, each pisockd logs and applies its
// ACL to the client's own address, health checks are no clients, and a pisockd that stops
// leaves new clients to the other.

#include <memory>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/front_end.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

constexpr const char *kHaproxy = "/usr/sbin/haproxy";

// Whether a file (a program, a socket) is there.
bool installed(const char *path)
{
    struct stat st {
    };
    return ::stat(path, &st) == 0;
}

// The srv_op_state of each server in "show servers state" (2: up, 0: down), by name.
std::string serverState(const std::string &socket, const std::string &server)
{
    const std::string table = haproxyCommand(socket, "show servers state");
    const auto at = table.find(" " + server + " ");
    if (at == std::string::npos)
        return "?";
    // "srv_name srv_addr srv_op_state": the state is the second field after the name.
    std::istringstream fields(table.substr(at));
    std::string name, addr, state;
    fields >> name >> addr >> state;
    return state;
}

bool waitForState(const std::string &socket, const std::string &server, const std::string &state)
{
    const auto deadline = Clock::now() + 15s;
    while (Clock::now() < deadline) {
        if (serverState(socket, server) == state)
            return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

// Info-level lines of a pisockd log that contain needle.
std::size_t infoLines(const std::string &log, const std::string &needle)
{
    std::size_t n = 0;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);)
        if (line.find(" info ") != std::string::npos && line.find(needle) != std::string::npos)
            ++n;
    return n;
}

} // namespace

TEST_CASE("HAProxy spreads clients over two pisockd, which see each client's own address",
          "[e2e][proxy][haproxy]")
{
    if (!installed(kHaproxy)) {
        skipCase(std::string(kHaproxy) + " is missing (apt install haproxy)");
        return;
    }
    const std::vector<std::string> args{ "--listen",        "127.0.0.1:0,proxy",
                                         "--trusted-proxy", "127.0.0.1",
                                         "--deny",          "127.0.0.9" };
    std::vector<std::string> debugArgs = args;
    debugArgs.insert(debugArgs.end(), { "--log-level", "debug" });
    Daemon a(debugArgs, noActivation());
    Daemon b(args, noActivation());
    const auto portA = loggedPort(a);
    const auto portB = loggedPort(b);
    REQUIRE(portA != 0);
    REQUIRE(portB != 0);

    TempDir dir;
    const std::string socket = dir.path() + "/haproxy.sock";
    const std::uint16_t front = freeLoopbackPort();
    std::string config = sourceFile("docs/examples/haproxy.cfg");
    config = replaceAll(config, "/run/haproxy/pisockd.sock", socket);
    config = replaceAll(config, "bind :8888", "bind 127.0.0.1:" + std::to_string(front));
    config = replaceAll(config, "127.0.0.1:7001", "127.0.0.1:" + std::to_string(portA));
    config = replaceAll(config, "127.0.0.1:7002", "127.0.0.1:" + std::to_string(portB));
    config = replaceAll(config, "inter 2s", "inter 200ms"); // a test does not wait 2 s a check
    const std::string path = dir.write("haproxy.cfg", config);
    FrontEnd haproxy({ kHaproxy, "-db", "-f", path });
    // Its runtime API, not its port: a connection to the port would be a client.
    const auto started = Clock::now() + 10s;
    while (!installed(socket.c_str()) && Clock::now() < started)
        std::this_thread::sleep_for(20ms);
    REQUIRE(installed(socket.c_str()));
    // Both pass the health check: a PROXY v2 LOCAL header, "ping", "server rec: ping".
    REQUIRE(waitForState(socket, "pisockd1", "2"));
    REQUIRE(waitForState(socket, "pisockd2", "2"));
    CHECK(a.waitForLog("health check (PROXY v2 LOCAL)"));

    // Eight clients at once, each from its own address: leastconn spreads them.
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 8; ++i) {
        const std::string source = "127.0.0." + std::to_string(10 + i);
        clients.push_back(std::make_unique<Client>("127.0.0.1", front, source));
        CHECK(roundTrip(*clients.back(), "hello from " + source));
    }
    std::size_t onA = 0;
    std::size_t onB = 0;
    for (int i = 0; i < 8; ++i) {
        const std::string who = "127.0.0." + std::to_string(10 + i) + ":";
        const std::size_t inA = infoLines(a.log(), who);
        const std::size_t inB = infoLines(b.log(), who);
        CHECK(inA + inB == 1); // its connect line, in one log, under its own address
        onA += inA;
        onB += inB;
    }
    CHECK(onA >= 2);
    CHECK(onB >= 2);
    CHECK(infoLines(a.log(), "through proxy 127.0.0.1:") == onA);
    CHECK(infoLines(b.log(), "through proxy 127.0.0.1:") == onB);

    // The ACL sees the client, not HAProxy: 127.0.0.9 is denied, by whichever pisockd.
    Client denied("127.0.0.1", front, "127.0.0.9");
    denied.send("let me in\n");
    bool timedOut = true;
    CHECK(denied.readToEof(5s, &timedOut) == "error: not allowed\n");
    CHECK_FALSE(timedOut);
    const auto deadline = Clock::now() + 5s;
    while (a.log().find("denied 127.0.0.9:") == std::string::npos &&
           b.log().find("denied 127.0.0.9:") == std::string::npos && Clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    CHECK((a.log() + b.log()).find("denied 127.0.0.9:") != std::string::npos);

    // Health checks are no clients: only the eight are connect lines at info level.
    CHECK(infoLines(a.log(), "connected on") == onA);
    CHECK(infoLines(b.log(), "connected on") == onB);
    // Nor are they in the status systemd shows: the clients now are the ones served.
    CHECK(a.waitForNotifications("STATUS=" + std::to_string(onA) + " clients now", 1, true));

    // pisockd2 stops: its clients are told, new clients all go to pisockd1.
    for (auto &c : clients)
        c->close();
    CHECK(b.stop() == 0);
    const std::size_t before = infoLines(a.log(), "connected on");
    for (int i = 0; i < 4; ++i) {
        Client late("127.0.0.1", front, "127.0.0." + std::to_string(30 + i));
        CHECK(roundTrip(late, "after the stop"));
    }
    CHECK(infoLines(a.log(), "connected on") == before + 4);
    CHECK(waitForState(socket, "pisockd2", "0")); // and HAProxy's check saw it go
    // Meanwhile many health checks came to pisockd1, and none was a client.
    CHECK(countOf(a.log(), "health check (PROXY v2 LOCAL)") >= 2);
    CHECK(infoLines(a.log(), "connected on") == before + 4);
    CHECK(a.stop() == 0);
}
