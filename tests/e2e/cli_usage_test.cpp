// pisockd's command line: an unknown option or a bad value is one line and exit 64, nothing
// left running; --help and --version exit 0.

#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

TEST_CASE("an unknown option exits 64 with one line", "[e2e][cli]")
{
    auto r = runProcess({ daemonPath(), "--no-such-option" });
    CHECK(r.status == 64);
    CHECK(lineCount(r.err) == 1);
    CHECK(r.err.find("--no-such-option") != std::string::npos);
}

TEST_CASE("a bad option value exits 64 naming the option", "[e2e][cli]")
{
    for (auto args : { std::vector<std::string>{ "--mode", "shout" },
                       std::vector<std::string>{ "--max-message", "lots" },
                       std::vector<std::string>{ "--listen", "::1:80" } }) {
        args.insert(args.begin(), daemonPath());
        auto r = runProcess(args);
        CHECK(r.status == 64);
        CHECK(lineCount(r.err) == 1);
        CHECK(r.err.find(args[1]) != std::string::npos);
    }
}

TEST_CASE("--help and --version exit 0", "[e2e][cli]")
{
    auto help = runProcess({ daemonPath(), "--help" });
    CHECK(help.status == 0);
    CHECK(help.out.find("--listen") != std::string::npos);
    auto version = runProcess({ daemonPath(), "--version" });
    CHECK(version.status == 0);
    CHECK(version.out.rfind("pisockd ", 0) == 0);
}
