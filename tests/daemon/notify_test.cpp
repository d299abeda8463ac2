#include "daemon/notify.h"

#include <string>
#include <vector>

#include "tests/catch.h"

using namespace pisock;

namespace {

struct Sent {
    std::vector<std::string> messages;
    Notifier::Send sink()
    {
        return [this](const std::string &m) { messages.push_back(m); };
    }
};

} // namespace

TEST_CASE("without a watchdog READY=1 is the only message of ready()", "[notify]")
{
    Sent sent;
    Notifier n(sent.sink(), 0);
    CHECK_FALSE(n.watchdog());
    n.ready(0);
    CHECK(sent.messages == std::vector<std::string>{ "READY=1" });
    n.tick(100000);
    CHECK(sent.messages.size() == 1);
}

TEST_CASE("the first status goes out at once", "[notify]")
{
    Sent sent;
    Notifier n(sent.sink(), 0);
    n.status("0 clients now", 5);
    CHECK(sent.messages == std::vector<std::string>{ "STATUS=0 clients now" });
}

TEST_CASE("statuses within the interval are held back and the latest is sent", "[notify]")
{
    Sent sent;
    Notifier n(sent.sink(), 0);
    n.status("a", 1000);
    n.status("b", 1100);
    n.status("c", 1200);
    n.tick(1500);
    CHECK(sent.messages == std::vector<std::string>{ "STATUS=a" });
    n.tick(2000); // a full interval after "a"
    CHECK(sent.messages == std::vector<std::string>{ "STATUS=a", "STATUS=c" });
    n.tick(5000);
    CHECK(sent.messages.size() == 2);
}

TEST_CASE("an unchanged status is not sent again", "[notify]")
{
    Sent sent;
    Notifier n(sent.sink(), 0);
    n.status("same", 0);
    n.status("same", 5000);
    n.tick(10000);
    CHECK(sent.messages.size() == 1);
    n.status("other", 10000);
    CHECK(sent.messages.back() == "STATUS=other");
}

TEST_CASE("a status that changes back before it was sent is not sent", "[notify]")
{
    Sent sent;
    Notifier n(sent.sink(), 0);
    n.status("x", 0);
    n.status("y", 100);
    n.status("x", 200);
    n.tick(2000);
    CHECK(sent.messages == std::vector<std::string>{ "STATUS=x" });
}

TEST_CASE("the watchdog is pinged with READY=1 and then at half its interval", "[notify]")
{
    Sent sent;
    Notifier n(sent.sink(), 2000000); // WATCHDOG_USEC: 2 s
    REQUIRE(n.watchdog());
    n.ready(10000);
    CHECK(sent.messages == std::vector<std::string>{ "READY=1", "WATCHDOG=1" });
    n.tick(10500);
    n.tick(10999);
    CHECK(sent.messages.size() == 2);
    n.tick(11000);
    CHECK(sent.messages.size() == 3);
    CHECK(sent.messages.back() == "WATCHDOG=1");
    n.tick(11250);
    CHECK(sent.messages.size() == 3);
    n.tick(12100);
    CHECK(sent.messages.size() == 4);
}

TEST_CASE("the ticker is shortened to a quarter of the watchdog interval", "[notify]")
{
    Sent sent;
    CHECK(Notifier(sent.sink(), 0).maxTickMs(250) == 250);
    CHECK(Notifier(sent.sink(), 30000000).maxTickMs(250) == 250);
    CHECK(Notifier(sent.sink(), 400000).maxTickMs(250) == 100);
    CHECK(Notifier(sent.sink(), 500).maxTickMs(250) == 1);
}

TEST_CASE("RELOADING=1 carries MONOTONIC_USEC in the same message", "[notify]")
{
    Sent sent;
    Notifier n(sent.sink(), 0);
    n.reloading(123456789);
    n.ready(0);
    n.stopping();
    CHECK(sent.messages == std::vector<std::string>{ "RELOADING=1\nMONOTONIC_USEC=123456789",
                                                     "READY=1", "STOPPING=1" });
}
