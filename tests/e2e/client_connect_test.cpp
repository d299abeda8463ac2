// pisock's addresses and connection errors: every form of HOST and PORT, -4/-6, unix sockets,
// refused, unknown host, connect timeout, usage errors, each with its exit status and reason.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/socket.h>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

ProcessResult runClient(std::vector<std::string> args, std::string_view input = "ping\n")
{
    args.insert(args.begin(), clientPath());
    return runProcess(args, input);
}

} // namespace

TEST_CASE("HOST PORT, HOST:PORT and a bare PORT all reach the daemon", "[e2e][client]")
{
    Daemon d;
    const auto port = std::to_string(d.port());
    for (const auto &args : std::vector<std::vector<std::string>>{ { "127.0.0.1", port },
                                                                   { "127.0.0.1:" + port },
                                                                   { "localhost", port },
                                                                   { "localhost:" + port },
                                                                   { port } }) {
        INFO(args[0]);
        const auto r = runClient(args);
        CHECK(r.status == 0);
        CHECK(r.out == "server rec: ping\n");
    }
}

TEST_CASE("[v6]:PORT, a bare IPv6 address and -6 reach a daemon on ::1", "[e2e][client]")
{
    DaemonOptions v6;
    v6.ipv6 = true;
    Daemon d({}, v6);
    const auto port = std::to_string(d.port());
    for (const auto &args : std::vector<std::vector<std::string>>{
                 { "[::1]:" + port }, { "::1", port }, { "[::1]", port }, { "-6", "::1", port } }) {
        INFO(args[0]);
        const auto r = runClient(args);
        CHECK(r.status == 0);
        CHECK(r.out == "server rec: ping\n");
    }
}

TEST_CASE("-4 and -6 restrict the address family", "[e2e][client]")
{
    Daemon d;
    const auto port = std::to_string(d.port());
    auto r = runClient({ "-4", "127.0.0.1", port });
    CHECK(r.status == 0);
    r = runClient({ "-6", "127.0.0.1", port });
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("pisock: cannot resolve '127.0.0.1' (IPv6): "));
    r = runClient({ "-4", "-6", "127.0.0.1", port });
    CHECK(r.status == 2);
}

TEST_CASE("unix:/path reaches a daemon on a unix socket", "[e2e][client]")
{
    TempDir dir;
    const std::string path = dir.path() + "/pisockd.sock";
    DaemonOptions own;
    own.socketActivation = false;
    Daemon d({ "--listen", "unix:" + path }, own);
    const auto r = runClient({ "unix:" + path }, "over unix\n");
    CHECK(r.status == 0);
    CHECK(r.out == "server rec: over unix\n");
}

TEST_CASE("a refused connection: status 1 and the reason", "[e2e][client]")
{
    UniqueFd closed = closedLoopbackPort();
    const auto port = std::to_string(localPort(closed.get()));
    const auto r = runClient({ "127.0.0.1", port });
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err == "pisock: cannot connect to 127.0.0.1:" + port + ": Connection refused\n");
}

TEST_CASE("an unknown host: status 1 and the reason", "[e2e][client]")
{
    // .invalid is reserved (RFC 2606): it never resolves.
    const auto r = runClient({ "no-such-host.invalid", "8888" });
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err.starts_with("pisock: cannot resolve 'no-such-host.invalid': "));
    CHECK(r.err.find('\n') == r.err.size() - 1);
}

TEST_CASE("a connect that gets no answer: --timeout gives status 3", "[e2e][client]")
{
    // A listener whose accept queue is full drops new SYNs: the handshake never completes.
    UniqueFd listener = listenLoopback();
    ::listen(listener.get(), 0);
    const auto port = localPort(listener.get());
    std::vector<Client> fillers;
    bool full = false;
    for (int i = 0; i < 8 && !full; ++i) {
        UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int rc = ::connect(fd.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a));
        pollfd p{ fd.get(), POLLOUT, 0 };
        full = rc != 0 && ::poll(&p, 1, 200) == 0; // this one is left hanging: queue full
        fillers.emplace_back(std::move(fd));
    }
    if (!full) {
        skipCase("this kernel completes handshakes past a full accept queue");
        return;
    }
    const auto r = runClient({ "--timeout", "0.5", "127.0.0.1", std::to_string(port) });
    CHECK(r.status == 3);
    CHECK(r.err == "pisock: cannot connect to 127.0.0.1:" + std::to_string(port) +
                           ": no answer within 500ms\n");
}

TEST_CASE("bad command lines: status 2 and one line", "[e2e][client]")
{
    for (const auto &args : std::vector<std::vector<std::string>>{ { "--no-such-option" },
                                                                   { "localhost", "99999" },
                                                                   { "localhost", "8888", "extra" },
                                                                   { "localhost:8888", "8888" },
                                                                   { "--framing", "words" },
                                                                   { "--timeout", "soon" },
                                                                   { "--raw", "-m", "x" },
                                                                   { "-m" },
                                                                   { "unix:" },
                                                                   { "-4", "unix:/run/x.sock" } }) {
        INFO(args[0]);
        const auto r = runClient(args);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.starts_with("pisock: "));
        CHECK(r.err.find('\n') == r.err.size() - 1);
    }
}

TEST_CASE("--help and --version exit 0; --help within 80 columns, one value name per option",
          "[e2e][client]")
{
    auto r = runClient({ "--help" });
    CHECK(r.status == 0);
    CHECK(r.out.find("Exit status") != std::string::npos);
    CHECK(r.out.find("  -m,--message TEXT           send this message") != std::string::npos);
    CHECK(r.out.find("Excludes") == std::string::npos);
    const auto bench = runClient({ "bench", "--help" });
    CHECK(bench.out.find("  -c,--connections N          connections (default 50)\n") !=
          std::string::npos);
    for (const std::string &text : { r.out, bench.out }) {
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) {
            INFO(line);
            CHECK(line.size() <= 80);
        }
    }
    r = runClient({ "--version" });
    CHECK(r.status == 0);
    CHECK(r.out.starts_with("pisock "));
}

TEST_CASE("a .local name that does not resolve: the reason and how to get mDNS resolution",
          "[e2e][client]")
{
    const auto r = runClient({ "no-such-pisockd-host.local", "8888" });
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("pisock: cannot resolve 'no-such-pisockd-host.local': "));
    // Which hint depends on this machine's /etc/nsswitch.conf; one of them, on the same line.
    CHECK((r.err.find("; this machine does not resolve .local names (mDNS): sudo apt install "
                      "libnss-mdns\n") != std::string::npos ||
           r.err.find("; .local names are resolved by mDNS") != std::string::npos));
    CHECK(lineCount(r.err) == 1);
}
