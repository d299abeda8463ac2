// A short run of the soak tool (scripts/soak runs the long one): many concurrent connections
// from several source addresses, every reply checked, nothing lost.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

TEST_CASE("soak smoke: 1000 connections from 4 addresses for 3 s lose nothing", "[e2e][soak]")
{
    constexpr std::size_t kConnections = 1000;
    if (raiseFdLimit(kConnections + 100) < kConnections + 100) {
        skipCase("cannot raise RLIMIT_NOFILE to " + std::to_string(kConnections + 100));
        return;
    }
    const char *tool = std::getenv("PISOCK_SOAK");
    REQUIRE(tool);
    // --log-rate 0: 1000 connections a second from 4 addresses would be reported as
    // suppressed log lines, a warning this test treats as trouble.
    Daemon d({ "--max-connections", "2000", "--log-rate", "0" });
    const auto r = runProcess({ tool, "--port", std::to_string(d.port()), "--connections",
                                std::to_string(kConnections), "--seconds", "3", "--sources", "4" },
                              {}, 60s);
    std::printf("%s", r.out.c_str());
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("soak: connections=1000 established=1000 failed=0 dropped=0 wrong=0 lost=0") !=
          std::string::npos);
    CHECK(d.stop() == 0);
    CHECK(d.log().find("warning") == std::string::npos);
}
