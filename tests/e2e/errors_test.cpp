// Startup errors: one line, the right exit status, nothing left running.

#include <algorithm>
#include <string>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

std::size_t lines(const std::string &s)
{
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

} // namespace

TEST_CASE("an unknown option exits 64 with one line", "[e2e][errors]")
{
    auto r = runProcess({ daemonPath(), "--no-such-option" });
    CHECK(r.status == 64);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("--no-such-option") != std::string::npos);
}

TEST_CASE("a bad option value exits 64 naming the option", "[e2e][errors]")
{
    for (auto args : { std::vector<std::string>{ "--mode", "shout" },
                       std::vector<std::string>{ "--max-message", "lots" },
                       std::vector<std::string>{ "--listen", "::1:80" } }) {
        args.insert(args.begin(), daemonPath());
        auto r = runProcess(args);
        CHECK(r.status == 64);
        CHECK(lines(r.err) == 1);
        CHECK(r.err.find(args[1]) != std::string::npos);
    }
}

TEST_CASE("a bad configuration file exits 78 naming the line and key", "[e2e][errors]")
{
    TempDir dir;
    const auto unknown = dir.write("a.conf", "mode = reply\ncolour = blue\n");
    auto r = runProcess({ daemonPath(), "--config", unknown });
    CHECK(r.status == 78);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("a.conf:2: unknown key 'colour'") != std::string::npos);

    const auto badValue = dir.write("b.conf", "\n\nmax-message = -5\n");
    r = runProcess({ daemonPath(), "--config", badValue });
    CHECK(r.status == 78);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("b.conf:3: max-message") != std::string::npos);

    const auto noEquals = dir.write("c.conf", "listen\n");
    r = runProcess({ daemonPath(), "--config", noEquals });
    CHECK(r.status == 78);
    CHECK(r.err.find("c.conf:1:") != std::string::npos);

    r = runProcess({ daemonPath(), "--config", dir.path() + "/missing.conf" });
    CHECK(r.status == 78);
    CHECK(r.err.find("missing.conf: cannot open") != std::string::npos);
}

TEST_CASE("a port in use fails with a message naming the address", "[e2e][errors]")
{
    auto taken = listenLoopback();
    const std::string addr = "127.0.0.1:" + std::to_string(localPort(taken.get()));
    auto r = runProcess({ daemonPath(), "--listen", addr });
    CHECK(r.status != 0);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("cannot bind " + addr) != std::string::npos);
    CHECK(r.err.find("Address already in use") != std::string::npos);
}

TEST_CASE("--help and --version exit 0", "[e2e][errors]")
{
    auto help = runProcess({ daemonPath(), "--help" });
    CHECK(help.status == 0);
    CHECK(help.out.find("--listen") != std::string::npos);
    auto version = runProcess({ daemonPath(), "--version" });
    CHECK(version.status == 0);
    CHECK(version.out.rfind("pisockd ", 0) == 0);
}
