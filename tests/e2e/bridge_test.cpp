// The MQTT bridge end to end: a real mosquitto (Debian's) started here on a free loopback port,
// two pisockd bridged through it to one topic, mosquitto_sub and mosquitto_pub as the plain
// MQTT clients of the bus, a broker restarted mid-conversation, and bad configurations.
// Skipped, with the reason, when mosquitto is not installed or cannot start.

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <pwd.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/front_end.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

constexpr const char *kMosquitto = "/usr/sbin/mosquitto";
constexpr const char *kSub = "/usr/bin/mosquitto_sub";
constexpr const char *kPub = "/usr/bin/mosquitto_pub";
constexpr const char *kPasswd = "/usr/bin/mosquitto_passwd";

// A mosquitto of the test's own, on 127.0.0.1 and a port that was free; stopped by PID.
class Broker
{
public:
    // password: "user:password" makes the broker refuse anonymous clients and others.
    // tls: its listener speaks TLS with this certificate (mqtts://).
    explicit Broker(const std::string &password = {}, const TestCertificate *tls = nullptr)
        : tls_(tls != nullptr)
    {
        UniqueFd probe = listenLoopback();
        port_ = localPort(probe.get());
        probe.reset(); // mosquitto takes the port (SO_REUSEADDR)
        // As root, mosquitto becomes the user named here (default "mosquitto", who could not
        // read this test's files); as anyone else it stays who it is.
        const passwd *me = ::getpwuid(::getuid());
        std::string conf = "listener " + std::to_string(port_) + " 127.0.0.1\n" +
                           "persistence false\nlog_dest stderr\nlog_type all\nuser " +
                           (me ? me->pw_name : "root") + "\n";
        if (tls)
            conf += "certfile " + tls->cert + "\nkeyfile " + tls->key + "\n";
        if (password.empty()) {
            conf += "allow_anonymous true\n";
        } else {
            const auto colon = password.find(':');
            const std::string file = dir_.write("passwd", "");
            const auto r = runProcess({ kPasswd, "-c", "-b", file, password.substr(0, colon),
                                        password.substr(colon + 1) });
            if (r.status != 0) {
                why_ = "mosquitto_passwd failed: " + r.err;
                return;
            }
            conf += "allow_anonymous false\npassword_file " + file + "\n";
        }
        conf_ = dir_.write("mosquitto.conf", conf);
        start();
    }
    ~Broker() { stop(); }
    Broker(const Broker &) = delete;
    Broker &operator=(const Broker &) = delete;

    // Empty when the broker runs; otherwise why it does not (the case is skipped).
    [[nodiscard]] const std::string &whyNot() const { return why_; }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::string url(const std::string &topic = "room") const
    {
        return (tls_ ? "mqtts://127.0.0.1:" : "mqtt://127.0.0.1:") + std::to_string(port_) + "/" +
               topic;
    }

    void start()
    {
        if (::access(kMosquitto, X_OK) != 0) {
            why_ = "mosquitto is not installed (apt-get install mosquitto)";
            return;
        }
        const std::string log = dir_.path() + "/mosquitto.log";
        pid_ = ::fork();
        if (pid_ == 0) {
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            ::execl(kMosquitto, kMosquitto, "-c", conf_.c_str(), static_cast<char *>(nullptr));
            ::_exit(127);
        }
        // Ready once it accepts a connection.
        const auto deadline = Clock::now() + 10s;
        while (Clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                why_ = "mosquitto did not start on 127.0.0.1:" + std::to_string(port_);
                return;
            }
            try {
                Client probe(port_);
                return;
            } catch (...) {
            }
            std::this_thread::sleep_for(20ms);
        }
        why_ = "mosquitto did not listen within 10 s";
    }

    void stop()
    {
        if (pid_ <= 0)
            return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        const auto deadline = Clock::now() + 10s;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (Clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
        pid_ = -1;
    }

private:
    bool tls_;
    TempDir dir_;
    std::string conf_;
    std::string why_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

std::vector<std::string> bridged(const Broker &broker, const std::string &node,
                                 std::vector<std::string> more = {})
{
    std::vector<std::string> args{ "--mode",   "broadcast",  "--log-rate",  "0",
                                   "--bridge", broker.url(), "--node-name", node };
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::string nameOf(const Client &c)
{
    return "127.0.0.1:" + std::to_string(localPort(c.fd()));
}

// Waits for a STATUS= (or any notification) that contains needle.
bool waitForStatus(Daemon &d, const std::string &needle, std::chrono::milliseconds timeout = 10s)
{
    const auto deadline = Clock::now() + timeout;
    do {
        for (const auto &note : d.notifications())
            if (note.starts_with("STATUS=") && note.find(needle) != std::string::npos)
                return true;
        std::this_thread::sleep_for(20ms);
    } while (Clock::now() < deadline);
    return false;
}

bool waitForClients(Daemon &d, std::size_t n)
{
    return d.waitForNotifications(
            "STATUS=" + std::to_string(n) + " client" + (n == 1 ? "" : "s") + " now", 1, true, 30s);
}

// Reads lines until one equals want; the lines before it go to skipped.
bool readUntil(Client &c, const std::string &want, std::vector<std::string> *skipped = nullptr,
               std::chrono::milliseconds timeout = 10s)
{
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        const auto line = c.readLine(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        if (!line)
            return false;
        if (*line == want)
            return true;
        if (skipped)
            skipped->push_back(*line);
    }
    return false;
}

#define SKIP_WITHOUT(broker)                                                                       \
    if (!(broker).whyNot().empty()) {                                                              \
        skipCase((broker).whyNot());                                                               \
        return;                                                                                    \
    }

} // namespace

TEST_CASE("clients of two bridged daemons see each other's messages, named by node, and never "
          "their own back",
          "[bridge]")
{
    Broker broker;
    SKIP_WITHOUT(broker);
    Daemon a(bridged(broker, "A"));
    Daemon b(bridged(broker, "B"));
    REQUIRE(a.waitForLog("bridge: connected to the MQTT broker"));
    REQUIRE(b.waitForLog("bridge: connected to the MQTT broker"));
    Client a1(a.port()), a2(a.port()), b1(b.port());
    REQUIRE(waitForClients(a, 2));
    REQUIRE(waitForClients(b, 1));

    a1.send("hello from A\n");
    CHECK(readUntil(b1, "A/" + nameOf(a1) + ": hello from A"));
    CHECK(a2.readLine() == nameOf(a1) + ": hello from A"); // locally as before
    b1.send("hello from B\n");
    CHECK(a1.readLine() == "B/" + nameOf(b1) + ": hello from B");
    CHECK(a2.readLine() == "B/" + nameOf(b1) + ": hello from B");

    // No loop: after a last message from B, neither side has seen its own come back.
    a2.send("second from A\n");
    CHECK(a1.readLine() == nameOf(a2) + ": second from A");
    CHECK(b1.readLine() == "A/" + nameOf(a2) + ": second from A");
    b1.send("end\n");
    std::vector<std::string> seenA1, seenA2;
    CHECK(readUntil(a1, "B/" + nameOf(b1) + ": end", &seenA1));
    CHECK(readUntil(a2, "B/" + nameOf(b1) + ": end", &seenA2));
    CHECK(seenA1.empty());
    CHECK(seenA2.empty());
    b1.shutdownWrite();
    CHECK(b1.readToEof(5s).empty()); // B's client got nothing of its own, nor anything more

    CHECK(waitForStatus(a,
                        "bridge up (A on 127.0.0.1:" + std::to_string(broker.port()) + "/room)"));
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(countOf(a.log(), "warning") == 0); // a stop is not an outage
}

TEST_CASE("mosquitto_sub sees the room's messages and mosquitto_pub's reach its clients",
          "[bridge]")
{
    Broker broker;
    SKIP_WITHOUT(broker);
    const std::string port = std::to_string(broker.port());
    // By name: looked up without blocking, each address tried in turn (the broker listens on
    // 127.0.0.1 only, localhost may be ::1 first).
    Daemon a({ "--mode", "broadcast", "--bridge", "mqtt://localhost:" + port + "/room",
               "--node-name", "A" });
    REQUIRE(a.waitForLog("bridge: connected to the MQTT broker at localhost:" + port));
    PtyProcess sub({ kSub, "-h", "127.0.0.1", "-p", port, "-V", "5", "-t", "room/#", "-v", "-d" });
    REQUIRE(sub.waitFor("SUBACK"));
    Client c(a.port()), d(a.port());
    REQUIRE(waitForClients(a, 2));

    c.send("to the bus\n");
    CHECK(sub.waitFor("room/A to the bus"));
    CHECK(d.readLine() == nameOf(c) + ": to the bus");

    auto pub = [&](std::vector<std::string> more) {
        std::vector<std::string> args{ kPub, "-h", "127.0.0.1", "-p", port, "-V", "5" };
        args.insert(args.end(), more.begin(), more.end());
        return runProcess(args).status;
    };
    REQUIRE(pub({ "-t", "room", "-m", "plain hello" }) == 0);
    CHECK(c.readLine() == "mqtt: plain hello");
    CHECK(d.readLine() == "mqtt: plain hello");
    REQUIRE(pub({ "-t", "room/kitchen", "-m", "21.5 C", "-D", "publish", "user-property", "sender",
                  "thermometer" }) == 0);
    CHECK(c.readLine() == "kitchen/thermometer: 21.5 C");
    REQUIRE(pub({ "-t", "room/nodered", "-m", "esc\x1b[2Jape" }) == 0);
    CHECK(c.readLine() == "nodered: esc\\x1b[2Jape"); // escaped like a local client's
    // Other topics are not the room's.
    REQUIRE(pub({ "-t", "room/a/b", "-m", "too deep" }) == 0);
    REQUIRE(pub({ "-t", "elsewhere", "-m", "not here" }) == 0);
    REQUIRE(pub({ "-t", "room", "-m", "last" }) == 0);
    CHECK(c.readLine() == "mqtt: last");
}

TEST_CASE("the room goes on while the broker restarts, and the bridge comes back", "[bridge]")
{
    Broker broker;
    SKIP_WITHOUT(broker);
    Daemon a(bridged(broker, "A"));
    Daemon b(bridged(broker, "B"));
    REQUIRE(a.waitForLog("bridge: connected to the MQTT broker"));
    REQUIRE(b.waitForLog("bridge: connected to the MQTT broker"));
    Client a1(a.port()), a2(a.port()), b1(b.port());
    REQUIRE(waitForClients(a, 2));
    REQUIRE(waitForClients(b, 1));
    a1.send("before\n");
    REQUIRE(b1.readLine() == "A/" + nameOf(a1) + ": before");
    REQUIRE(a2.readLine() == nameOf(a1) + ": before");

    broker.stop();
    REQUIRE(a.waitForLog("bridge: lost the MQTT broker"));
    REQUIRE(b.waitForLog("bridge: lost the MQTT broker"));
    CHECK(waitForStatus(a, "bridge down for"));
    // Locally nothing changed; what is said meanwhile is not bridged (QoS 0: dropped and
    // counted, docs/MQTT.md).
    a1.send("during\n");
    CHECK(a2.readLine() == nameOf(a1) + ": during");

    broker.start();
    REQUIRE(broker.whyNot().empty());
    REQUIRE(a.waitForLog("again after", 30s));
    REQUIRE(b.waitForLog("again after", 30s));
    CHECK(a.log().find("1 local messages were not bridged meanwhile") != std::string::npos);
    a1.send("after\n");
    CHECK(b1.readLine() == "A/" + nameOf(a1) + ": after"); // not "during"
    b1.send("back\n");
    CHECK(a1.readLine() == "B/" + nameOf(b1) + ": back");
    // The outage was logged once per daemon, however many retries it took.
    CHECK(countOf(a.log(), "bridge: lost the MQTT broker") == 1);
    CHECK(countOf(a.log(), "warning bridge") == 1);
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
}

TEST_CASE("pisockd --check says what is wrong with the bridge", "[bridge]")
{
    Broker broker("alice:right");
    SKIP_WITHOUT(broker);
    TempDir dir;
    const std::string right = dir.write("right", "right\n");
    const std::string wrong = dir.write("wrong", "wrong\n");
    ::chmod(right.c_str(), 0600);
    ::chmod(wrong.c_str(), 0600);
    const std::string open = dir.write("open", "right\n");
    ::chmod(open.c_str(), 0644);
    const std::string user = "mqtt://alice@127.0.0.1:" + std::to_string(broker.port()) + "/room";
    auto check = [&](std::vector<std::string> more) {
        std::vector<std::string> args{ daemonPath(), "--check",     "--config", "/dev/null",
                                       "--listen",   "127.0.0.1:0", "--mode",   "broadcast" };
        args.insert(args.end(), more.begin(), more.end());
        return runProcess(args);
    };

    auto r = check({ "--bridge", user, "--bridge-password-file", right });
    CHECK(r.status == 0);
    CHECK(r.out.find("bridge: the MQTT broker at 127.0.0.1:" + std::to_string(broker.port()) +
                     " accepted us") != std::string::npos);

    r = check({ "--bridge", user, "--bridge-password-file", wrong });
    CHECK(r.status != 0);
    CHECK(r.err.find("cannot connect to the MQTT broker") != std::string::npos);
    CHECK(r.err.find("the broker refused us") != std::string::npos);

    r = check({ "--bridge", user, "--bridge-password-file", open });
    CHECK(r.status == 78);
    CHECK(r.err.find("readable or writable by others (mode 644)") != std::string::npos);

    r = check({ "--bridge", user, "--bridge-password-file", dir.path() + "/missing" });
    CHECK(r.status == 78);
    CHECK(r.err.find("cannot open: No such file or directory") != std::string::npos);

    const UniqueFd closed = closedLoopbackPort();
    const std::string nowhere =
            "mqtt://127.0.0.1:" + std::to_string(localPort(closed.get())) + "/room";
    r = check({ "--bridge", nowhere });
    CHECK(r.status != 0);
    CHECK(r.err.find("cannot connect to the MQTT broker at 127.0.0.1:" +
                     std::to_string(localPort(closed.get())) + ": Connection refused") !=
          std::string::npos);

    r = check({ "--bridge", "mqtt://nosuchhost.invalid/room" });
    CHECK(r.status != 0);
    CHECK(r.err.find("cannot connect to the MQTT broker at nosuchhost.invalid:1883: ") !=
          std::string::npos);

    r = check({ "--bridge", "http://127.0.0.1/room" });
    CHECK(r.status == 64);
    CHECK(r.err == "pisockd: --bridge: not an MQTT URL: mqtt://[USER@]HOST[:PORT]/TOPIC or "
                   "mqtts://...\n");
    r = check({ "--bridge", "mqtt://127.0.0.1/room/#" });
    CHECK(r.status == 64);
    CHECK(r.err.find("wildcards") != std::string::npos);
    r = check({ "--bridge", "mqtt://127.0.0.1/room", "--node-name", "a/b" });
    CHECK(r.status == 64);
}

TEST_CASE("a bridge the broker refuses logs it once and retries; the room works meanwhile",
          "[bridge]")
{
    Broker broker("alice:right");
    SKIP_WITHOUT(broker);
    TempDir dir;
    const std::string wrong = dir.write("wrong", "wrong\n");
    ::chmod(wrong.c_str(), 0600);
    Daemon a({ "--mode", "broadcast", "--log-level", "debug", "--bridge",
               "mqtt://alice@127.0.0.1:" + std::to_string(broker.port()) + "/room",
               "--bridge-password-file", wrong });
    REQUIRE(a.waitForLog("the broker refused us"));
    Client c(a.port()), d(a.port());
    REQUIRE(waitForClients(a, 2));
    c.send("still here\n");
    CHECK(d.readLine() == nameOf(c) + ": still here");
    // Two more attempts (1 s, then 2 s later), each a debug line, not another warning.
    const auto deadline = Clock::now() + 20s;
    while (countOf(a.log(), "next try in") < 2 && Clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    CHECK(countOf(a.log(), "next try in") >= 2);
    CHECK(countOf(a.log(), "warning bridge") == 1);
    CHECK(waitForStatus(a, "bridge down for"));
    CHECK(a.stop() == 0);

    // Unreachable at start: the daemon starts all the same, and says so.
    const UniqueFd closed = closedLoopbackPort();
    Daemon b({ "--mode", "broadcast", "--bridge",
               "mqtt://127.0.0.1:" + std::to_string(localPort(closed.get())) + "/room" });
    CHECK(b.waitForLog("Connection refused; the local room goes on; retrying"));
    CHECK(b.stop() == 0);

    // A password file others may read: the daemon does not start.
    const std::string open = dir.write("open", "right\n");
    ::chmod(open.c_str(), 0644);
    const auto r =
            runProcess({ daemonPath(), "--config", "/dev/null", "--mode", "broadcast", "--listen",
                         "127.0.0.1:0", "--bridge", broker.url(), "--bridge-password-file", open });
    CHECK(r.status == 78);
    CHECK(r.err.find("readable or writable by others") != std::string::npos);
}

TEST_CASE("a broker name with two addresses: the bridge goes on to the second when the first "
          "refuses",
          "[bridge]")
{
    Broker broker; // on 127.0.0.1 only
    SKIP_WITHOUT(broker);
    // The daemon gets a hosts file of the test's own, in a mount namespace of its own: the
    // name is ::1 first (nothing listens there on the broker's port), then 127.0.0.1.
    TempDir dir;
    const std::string name = "broker.pisock.test";
    const std::string hosts = dir.write("hosts", "::1 " + name + "\n127.0.0.1 " + name + "\n");
    const std::string bindHosts = "mount --bind \"$0\" /etc/hosts && exec \"$@\"";
    const std::vector<std::string> inNamespace = {
        "/usr/bin/unshare", "--mount", "--", "/bin/sh", "-c", bindHosts, hosts
    };
    auto withHosts = [&](std::vector<std::string> argv) {
        argv.insert(argv.begin(), inNamespace.begin(), inNamespace.end());
        return argv;
    };
    // The order glibc gives them in (RFC 6724 puts ::1 first where it is usable).
    const auto lookup = runProcess(withHosts({ "/usr/bin/getent", "ahosts", name }));
    if (lookup.status != 0) {
        skipCase("no mount namespace with a hosts file of the test's own here (needs root): " +
                 lookup.err);
        return;
    }
    if (lookup.out.rfind("::1 ", 0) != 0) {
        skipCase("glibc does not give ::1 first for a name with ::1 and 127.0.0.1 here: " +
                 lookup.out);
        return;
    }
    const std::string port = std::to_string(broker.port());
    DaemonOptions options;
    options.wrapper = inNamespace;
    Daemon a({ "--mode", "broadcast", "--log-rate", "0", "--log-level", "debug", "--bridge",
               "mqtt://" + name + ":" + port + "/room", "--node-name", "A" },
             options);
    Daemon b(bridged(broker, "B"));
    REQUIRE(a.waitForLog("bridge: connected to the MQTT broker at " + name + ":" + port));
    CHECK(a.log().find("bridge: " + name + ":" + port + " (::1): ") != std::string::npos);
    CHECK(a.log().find("; trying its next address") != std::string::npos);
    CHECK(countOf(a.log(), "warning") == 0); // one address refusing is no outage
    REQUIRE(b.waitForLog("bridge: connected to the MQTT broker"));
    Client a1(a.port()), b1(b.port());
    REQUIRE(waitForClients(a, 1));
    REQUIRE(waitForClients(b, 1));
    a1.send("by name\n");
    CHECK(readUntil(b1, "A/" + nameOf(a1) + ": by name"));
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
}

TEST_CASE("mqtts://: the bridge speaks TLS to the broker, checked against bridge-ca-file",
          "[bridge]")
{
    TempDir dir;
    const auto cert = makeCertificate(dir);
    if (!cert)
        return;
    Broker broker({}, &*cert);
    SKIP_WITHOUT(broker);
    const std::string at = "127.0.0.1:" + std::to_string(broker.port());
    const auto check = runProcess({ daemonPath(), "--config", "/dev/null", "--mode", "broadcast",
                                    "--listen", "127.0.0.1:0", "--bridge", broker.url(),
                                    "--bridge-ca-file", cert->cert, "--check" });
    CHECK(check.status == 0);
    CHECK(check.out.find("bridge: the MQTT broker at " + at + " accepted us") != std::string::npos);
    Daemon a(bridged(broker, "A", { "--bridge-ca-file", cert->cert }));
    Daemon b(bridged(broker, "B", { "--bridge-ca-file", cert->cert }));
    REQUIRE(a.waitForLog("bridge: connected to the MQTT broker at " + at));
    REQUIRE(b.waitForLog("bridge: connected to the MQTT broker at " + at));
    Client a1(a.port()), b1(b.port());
    REQUIRE(waitForClients(a, 1));
    REQUIRE(waitForClients(b, 1));
    a1.send("over TLS\n");
    CHECK(readUntil(b1, "A/" + nameOf(a1) + ": over TLS"));
    b1.send("and back\n");
    CHECK(readUntil(a1, "B/" + nameOf(b1) + ": and back"));

    // Without the CA file the system's authorities are asked, and none signed the test's
    // certificate: the bridge stays down and says so, the room works locally.
    const auto untrusted =
            runProcess({ daemonPath(), "--config", "/dev/null", "--mode", "broadcast", "--listen",
                         "127.0.0.1:0", "--bridge", broker.url(), "--check" });
    CHECK(untrusted.status != 0);
    INFO(untrusted.err);
    CHECK(untrusted.err.find("cannot connect to the MQTT broker at " + at + ": ") !=
          std::string::npos);
    CHECK(untrusted.err.find("is the broker's certificate signed by bridge-ca-file") !=
          std::string::npos);
    Daemon c(bridged(broker, "C", { "--log-level", "debug" }));
    CHECK(c.waitForLog("the local room goes on; retrying"));
    CHECK(c.log().find("bridge: connected") == std::string::npos);
    Client c1(c.port()), c2(c.port());
    REQUIRE(waitForClients(c, 2));
    c1.send("local only\n");
    CHECK(c2.readLine() == nameOf(c1) + ": local only");
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
    CHECK(c.stop() == 0);
}

TEST_CASE("a reload keeps the bridge as it started, and says its settings need a restart",
          "[bridge]")
{
    Broker broker;
    SKIP_WITHOUT(broker);
    TempDir dir;
    const auto conf = dir.write("pisockd.conf",
                                "mode = broadcast\nbridge = " + broker.url() + "\nnode-name = A\n");
    Daemon a({ "--config", conf });
    Daemon b(bridged(broker, "B"));
    REQUIRE(a.waitForLog("bridge: connected to the MQTT broker"));
    REQUIRE(b.waitForLog("bridge: connected to the MQTT broker"));
    dir.write("pisockd.conf",
              "mode = broadcast\nbridge = " + broker.url("elsewhere") + "\nnode-name = renamed\n");
    REQUIRE(a.reload());
    CHECK(a.waitForLog("bridge settings apply after a restart"));
    Client a1(a.port()), b1(b.port());
    REQUIRE(waitForClients(a, 1));
    REQUIRE(waitForClients(b, 1));
    a1.send("after the reload\n");
    // Still node A on the old topic, on the same connection to the broker.
    CHECK(readUntil(b1, "A/" + nameOf(a1) + ": after the reload"));
    CHECK(countOf(a.log(), "bridge: connected to the MQTT broker") == 1);
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
}
