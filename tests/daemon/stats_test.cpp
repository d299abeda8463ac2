#include "daemon/stats.h"

#include <string>

#include "tests/catch.h"

using namespace pisock;

namespace {

StatsSnapshot sample()
{
    StatsSnapshot s;
    s.version = "1.2";
    s.pid = 42;
    s.startUnix = 1'700'000'000;
    s.uptimeMs = 3'723'000;
    s.mode = "broadcast";
    s.framing = "line";
    s.maxConnections = 10;
    s.clientsNow = 1;
    s.served = 5;
    s.messages = 7;
    s.memoryLimit = 64 * 1024 * 1024;
    ClientStats c;
    c.id = 3;
    c.peer = "192.0.2.1:5000";
    c.name = "bob \"the\" \\ \x1b[2J\nmallory";
    c.sinceUnix = s.startUnix + 60;
    c.state = "open";
    s.clients.push_back(c);
    return s;
}

} // namespace

TEST_CASE("uptime is shown in the largest units that fit", "[stats]")
{
    CHECK(formatUptime(0) == "0s");
    CHECK(formatUptime(59'999) == "59s");
    CHECK(formatUptime(60'000) == "1m 00s");
    CHECK(formatUptime(3'723'000) == "1h 02m 03s");
    CHECK(formatUptime(90'061'000) == "1d 01h 01m");
}

TEST_CASE("a name someone chose cannot break the JSON or forge a line", "[stats]")
{
    const std::string json = formatStatsJson(sample());
    CHECK(json.back() == '\n');
    CHECK(json.find('\n') == json.size() - 1); // one line
    CHECK(json.find('\x1b') == std::string::npos);
    CHECK(json.find(R"("name":"bob \"the\" \\ \\x1b[2J\\x0amallory")") != std::string::npos);
    CHECK(json.find(R"("start":"2023-11-14T22:13:20Z")") != std::string::npos);
    CHECK(json.find(R"("uptime_seconds":3723,"mode":"broadcast")") != std::string::npos);

    const std::string text = formatStatsText(sample());
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find("bob \"the\" \\ \\x1b[2J\\x0amallory") != std::string::npos);
    CHECK(text.find("\nmallory") == std::string::npos);
}

TEST_CASE("the text says how many clients are not listed", "[stats]")
{
    StatsSnapshot s = sample();
    s.clientsNow = 1500;
    CHECK(formatStatsText(s).find("(1499 more not listed)\n") != std::string::npos);
    CHECK(formatStatsJson(s).find(R"("clients_now":1500,)") != std::string::npos);
    CHECK(formatStatsJson(s).find(R"("clients_listed":1})") != std::string::npos);
}

TEST_CASE("Prometheus text has a help and type line per metric and escaped labels", "[stats]")
{
    const std::string text = formatStatsPrometheus(sample(), "pi\"sockd\\1");
    CHECK(text.find("# HELP pisockd_clients_served_total Clients accepted and served.\n"
                    "# TYPE pisockd_clients_served_total counter\n"
                    "pisockd_clients_served_total{daemon=\"pi\\\"sockd\\\\1\"} 5\n") !=
          std::string::npos);
    CHECK(text.find("pisockd_info{daemon=\"pi\\\"sockd\\\\1\",version=\"1.2\",mode=\"broadcast\","
                    "framing=\"line\"} 1\n") != std::string::npos);
    CHECK(text.find("pisockd_memory_limit_bytes{daemon=\"pi\\\"sockd\\\\1\"} 67108864\n") !=
          std::string::npos);
    // No client list: one sample per metric, whatever the clients.
    CHECK(text.find("192.0.2.1") == std::string::npos);
}
