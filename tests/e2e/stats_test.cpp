// Live stats end to end: the control socket and `pisockd --stats` (text and JSON), the totals
// counted where the events happen, a control socket that cannot be abused, and the metrics
// file, read by Debian's prometheus-node-exporter where it is installed.

#include <cerrno>
#include <regex>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

ProcessResult stats(const std::string &socket, bool json = false)
{
    std::vector<std::string> argv{ daemonPath(), "--stats", "--control-socket", socket };
    if (json)
        argv.emplace_back("--json");
    return runProcess(argv, {}, 10s);
}

// Runs a Python check over a JSON document with Debian's python3: exit 0 and "ok" if it holds.
ProcessResult checkJson(const std::string &json, const std::string &assertions)
{
    const std::string script =
            "import json, sys\nd = json.load(sys.stdin)\n" + assertions + "\nprint('ok')\n";
    return runProcess({ python3Path(), "-c", script }, json, 10s);
}

// Polls `pisockd --stats` until its text contains needle.
bool waitForStats(const std::string &socket, const std::string &needle,
                  std::chrono::milliseconds timeout = 10s)
{
    const auto deadline = Clock::now() + timeout;
    do {
        if (stats(socket).out.find(needle) != std::string::npos)
            return true;
        std::this_thread::sleep_for(50ms);
    } while (Clock::now() < deadline);
    return false;
}

// One HTTP/1.0 GET on 127.0.0.1:port; the body, or "" if none came.
std::string httpGet(std::uint16_t port, const std::string &path)
{
    try {
        Client c(port);
        c.send("GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        const std::string response = c.readToEof(10s);
        const auto body = response.find("\r\n\r\n");
        return body == std::string::npos ? std::string() : response.substr(body + 4);
    } catch (const std::exception &) {
        return {};
    }
}

} // namespace

TEST_CASE("pisockd --stats shows the mode, the totals, the memory and every client", "[e2e][stats]")
{
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    Daemon d({ "--control-socket", socket });
    struct stat st {
    };
    REQUIRE(::stat(socket.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0660);

    Client a(d.port());
    Client b(d.port());
    REQUIRE(roundTrip(a, "one"));
    REQUIRE(roundTrip(a, "two"));
    REQUIRE(roundTrip(b, "three"));

    const ProcessResult r = stats(socket);
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out.starts_with("pisockd "));
    CHECK(std::regex_search(r.out, std::regex("pid [0-9]+, up [0-9]+s")));
    CHECK(r.out.find("mode: reply, line framing\n") != std::string::npos);
    CHECK(r.out.find("clients: 2 now, at most 1024\n"
                     "totals: 2 served, 0 refused, 0 denied, 0 timed out, 0 out of memory\n") !=
          std::string::npos);
    CHECK(r.out.find("messages: 3, 0 dropped; 14 bytes in, 50 bytes out\n") != std::string::npos);
    CHECK(std::regex_search(r.out, std::regex("memory: [0-9]+ KiB in use of 65536 KiB")));
    // One line per client: id, peer, name, since, in, out, messages, pending, state.
    CHECK(std::regex_search(r.out,
                            std::regex("\n +1 127\\.0\\.0\\.1:[0-9]+ +127\\.0\\.0\\.1:[0-9]+ "
                                       "+[0-9:]+ +8 +32 +2 +0 open\n")));
    CHECK(std::regex_search(r.out, std::regex("\n +2 127\\.0\\.0\\.1:[0-9]+ .* +6 +18 +1 +0 "
                                              "open\n")));
    // The clients were not disturbed.
    CHECK(roundTrip(a, "after"));
    CHECK(roundTrip(b, "after"));
}

TEST_CASE("pisockd --stats --json is one JSON object with the same fields", "[e2e][stats]")
{
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    Daemon d({ "--control-socket", socket, "--mode", "echo", "--memory-limit", "8M" });
    Client a(d.port());
    a.send("hello\n");
    REQUIRE(a.readLine() == "hello");

    const ProcessResult r = stats(socket, true);
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(lineCount(r.out) == 1);
    const ProcessResult check = checkJson(
            r.out,
            "assert d['mode'] == 'echo' and d['framing'] == 'line', d\n"
            "assert d['clients_now'] == 1 and d['clients_listed'] == 1, d\n"
            "assert d['uptime_seconds'] >= 0 and d['start'].endswith('Z'), d\n"
            "t = d['totals']\n"
            "assert (t['served'], t['refused'], t['denied'], t['timed_out']) == (1, 0, 0, 0), t\n"
            "assert (t['bytes_in'], t['bytes_out']) == (6, 6), t\n"
            "assert d['memory']['limit_bytes'] == 8 * 1024 * 1024, d\n"
            "assert 0 < d['memory']['used_bytes'] <= d['memory']['peak_bytes'], d\n"
            "c = d['clients'][0]\n"
            "assert c['peer'].startswith('127.0.0.1:') and c['name'] == c['peer'], c\n"
            "assert (c['bytes_in'], c['bytes_out'], c['pending_output']) == (6, 6, 0), c\n"
            "assert c['state'] == 'open' and c['since'].endswith('Z'), c\n");
    INFO(check.out << check.err);
    CHECK(check.status == 0);
    CHECK(check.out == "ok\n");
}

TEST_CASE("the totals count refused, denied and timed-out clients where it happens", "[e2e][stats]")
{
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    Daemon d({ "--control-socket", socket, "--max-connections", "1", "--deny", "127.0.0.2",
               "--idle-timeout", "1" });
    // Closed whatever they are told first: the test waits for the end only.
    auto closes = [](Client &c) {
        bool timedOut = true;
        c.readToEof(10s, &timedOut);
        return !timedOut;
    };
    {
        Client denied("127.0.0.1", d.port(), "127.0.0.2");
        CHECK(closes(denied));
    }
    Client first(d.port());
    REQUIRE(roundTrip(first, "in"));
    Client busy(d.port());
    CHECK(busy.readLine() == "error: server busy");
    // The first client goes idle and is closed after a second.
    CHECK(closes(first));
    const bool counted = waitForStats(socket, "clients: 0 now, at most 1\n"
                                              "totals: 1 served, 1 refused, 1 denied, 1 timed "
                                              "out, 0 out of memory\n");
    INFO(stats(socket).out);
    CHECK(counted);
}

TEST_CASE("the control socket answers bad commands with an error and serves no one for long",
          "[e2e][stats]")
{
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    Daemon d({ "--control-socket", socket });
    {
        Client c(socket, 0);
        c.send("shutdown\n");
        CHECK(c.readToEof() == "error: unknown command (stats, stats json)\n");
    }
    {
        Client c(socket, 0);
        c.send(std::string(200, 'x'));
        CHECK(c.readToEof() == "error: command too long\n");
    }
    // Askers that say nothing hold every place; one more is told to come back, and the
    // daemon's clients do not notice.
    std::vector<std::unique_ptr<Client>> silent;
    for (int i = 0; i < 4; ++i)
        silent.push_back(std::make_unique<Client>(socket, 0));
    const ProcessResult r = stats(socket);
    CHECK(r.status == 69);
    INFO(r.err);
    CHECK(r.err.find("error: busy, try again") != std::string::npos);
    Client tcp(d.port());
    CHECK(roundTrip(tcp, "still served"));
    // Each silent asker is closed at its deadline (5 s); then --stats answers again.
    for (auto &c : silent)
        CHECK(c->waitForEof(10s));
    CHECK(stats(socket).status == 0);
}

TEST_CASE("pisockd --stats says why when there is no daemon or no permission", "[e2e][stats]")
{
    TempDir dir;
    const std::string socket = dir.path() + "/control.sock";
    ProcessResult r = stats(socket);
    CHECK(r.status == 69);
    CHECK(r.err == "pisockd: cannot connect to " + socket +
                           ": No such file or directory (is pisockd running, with this "
                           "control-socket?)\n");
    r = runProcess({ daemonPath(), "--stats", "--control-socket", "none" });
    CHECK(r.status == 69);
    CHECK(r.err.find("control-socket is none") != std::string::npos);
    r = runProcess({ daemonPath(), "--json" });
    CHECK(r.status == 64);

    if (::geteuid() != 0) {
        skipCase("not root: cannot run --stats as another user");
        return;
    }
    ::chmod(dir.path().c_str(), 0755); // the socket's own mode is what keeps others out
    Daemon d({ "--control-socket", socket });
    r = runProcess({ "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                     "--inh-caps=-all", daemonPath(), "--stats", "--control-socket", socket });
    CHECK(r.status == 77);
    CHECK(r.err.find("Permission denied (root or the daemon's group only)") != std::string::npos);
}

TEST_CASE("metrics-file holds the stats in Prometheus text format, replaced whole", "[e2e][stats]")
{
    TempDir dir;
    const std::string file = dir.path() + "/pisockd-1.prom";
    Daemon d({ "--control-socket", "none", "--metrics-file", file });
    Client a(d.port());
    REQUIRE(roundTrip(a, "counted"));
    a.close();
    CHECK(d.stop() == 0);
    // The last figures are written on the way out.
    const ProcessResult cat = runProcess({ "/bin/cat", file });
    INFO(cat.out);
    CHECK(cat.out.find("# TYPE pisockd_clients_served_total counter\n"
                       "pisockd_clients_served_total{daemon=\"pisockd-1\"} 1\n") !=
          std::string::npos);
    CHECK(cat.out.find("pisockd_messages_total{daemon=\"pisockd-1\"} 1\n") != std::string::npos);
    CHECK(cat.out.find("pisockd_clients{daemon=\"pisockd-1\"} 0\n") != std::string::npos);
    CHECK(cat.out.find("pisockd_info{daemon=\"pisockd-1\",version=\"") != std::string::npos);
    struct stat st {
    };
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644); // node_exporter runs as another user
    CHECK(::access((file + ".tmp").c_str(), F_OK) != 0);
}

TEST_CASE("prometheus-node-exporter reads the metrics file as pisockd rewrites it", "[e2e][stats]")
{
    const std::string exporter = "/usr/bin/prometheus-node-exporter";
    if (::access(exporter.c_str(), X_OK) != 0) {
        skipCase("prometheus-node-exporter is not installed");
        return;
    }
    TempDir dir;
    Daemon d({ "--control-socket", "none", "--metrics-file", dir.path() + "/pisockd.prom" });
    std::uint16_t port = 0;
    {
        const auto probe = listenLoopback();
        port = localPort(probe.get());
    }
    PtyProcess ne({ exporter, "--collector.disable-defaults", "--collector.textfile",
                    "--collector.textfile.directory=" + dir.path(),
                    "--web.listen-address=127.0.0.1:" + std::to_string(port) });
    REQUIRE(ne.waitFor("Listening on", 10s));
    Client a(d.port());
    REQUIRE(roundTrip(a, "seen by prometheus"));
    // The file is rewritten every 15 s: within 20 s the exporter serves the client.
    std::string metrics;
    const auto deadline = Clock::now() + 25s;
    while (Clock::now() < deadline) {
        metrics = httpGet(port, "/metrics");
        if (metrics.find("pisockd_clients{daemon=\"pisockd\"} 1\n") != std::string::npos)
            break;
        std::this_thread::sleep_for(200ms);
    }
    INFO(metrics);
    CHECK(metrics.find("pisockd_clients{daemon=\"pisockd\"} 1\n") != std::string::npos);
    CHECK(metrics.find("pisockd_messages_total{daemon=\"pisockd\"} 1\n") != std::string::npos);
    CHECK(metrics.find("node_textfile_scrape_error 0\n") != std::string::npos);
}
