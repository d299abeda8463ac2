// TCP keepalive end to end: what --keepalive sets on accepted sockets, as ss(8) reads it back.

#include <string>
#include <unistd.h>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

TEST_CASE("accepted sockets have TCP keepalive as configured", "[e2e][keepalive]")
{
    const std::string ss = ::access("/usr/bin/ss", X_OK) == 0 ? "/usr/bin/ss" : "/bin/ss";
    REQUIRE(::access(ss.c_str(), X_OK) == 0); // iproute2, installed by scripts/deps
    for (const char *seconds : { "7", "0" }) {
        Daemon d({ "--keepalive", seconds });
        Client c(d.port());
        REQUIRE(roundTrip(c, "hi"));
        // The daemon's end of the connection: source port = the listening port.
        const auto r = runProcess(
                { ss, "-tnoH", "state", "established", "sport = :" + std::to_string(d.port()) });
        INFO("ss says: " << r.out << r.err);
        REQUIRE(r.status == 0);
        REQUIRE(r.out.find("127.0.0.1:" + std::to_string(d.port())) != std::string::npos);
        const auto timer = r.out.find("timer:(keepalive,");
        if (std::string(seconds) == "0") {
            CHECK(timer == std::string::npos);
        } else {
            REQUIRE(timer != std::string::npos);
            const double left = std::stod(r.out.substr(timer + 17));
            CHECK(left > 0);
            CHECK(left <= 7.0);
        }
        c.close();
        CHECK(d.stop() == 0);
    }
}
