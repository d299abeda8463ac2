// --allow and --deny end to end: who is served, who is told "error: not allowed" and closed,
// and the denials logged at most once a second.

#include <string>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

TEST_CASE("--allow and --deny pick who is served; IPv4-mapped peers match IPv4 rules", "[e2e][acl]")
{
    for (const bool mapped : { false, true }) {
        INFO((mapped ? "IPv6 socket, IPv4-mapped peers" : "IPv4 socket"));
        DaemonOptions options;
        options.v4mapped = mapped;
        Daemon d({ "--allow", "127.0.0.0/24", "--allow", "::1", "--deny", "127.0.0.3" }, options);
        Client allowed("127.0.0.1", d.port(), "127.0.0.2");
        CHECK(roundTrip(allowed, "welcome"));

        Client denied("127.0.0.1", d.port(), "127.0.0.3");
        bool timedOut = true;
        CHECK(denied.readToEof(5s, &timedOut) == "error: not allowed\n"); // and nothing more
        CHECK_FALSE(timedOut);
        CHECK(d.waitForLog("denied 127.0.0.3:"));

        Client outside("127.0.0.1", d.port(), "127.0.1.1");
        CHECK(outside.readToEof(5s, &timedOut) == "error: not allowed\n");
        CHECK_FALSE(timedOut);
        // Rate-limited: the second denial within a second is counted, not logged.
        CHECK(countOf(d.log(), "denied 127.0.") == 1);
        CHECK(roundTrip(allowed, "still welcome"));
        allowed.close();
        CHECK(d.stop() == 0);
    }
}
