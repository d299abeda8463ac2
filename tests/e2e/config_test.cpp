// The configuration file end to end: the options it sets (the command line wins); whatever
// cannot be read plainly fails closed (exit 78 naming the line at start, --check fails, a reload
// keeps the old settings); and the format's decisions (byte-order mark, comments after values,
// quotes, one socket listed twice).

#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

// pisockd with args, and pisockd --check with the same: both must fail the same way.
std::vector<ProcessResult> startAndCheck(const std::vector<std::string> &args,
                                         const std::vector<std::string> &wrapper = {})
{
    std::vector<ProcessResult> results;
    for (const bool check : { false, true }) {
        std::vector<std::string> argv = wrapper;
        argv.push_back(daemonPath());
        if (check)
            argv.emplace_back("--check");
        argv.insert(argv.end(), args.begin(), args.end());
        results.push_back(runProcess(argv, {}, 10s));
    }
    return results;
}

} // namespace

TEST_CASE("a directory given as the configuration: exit 78 with the reason, --check too",
          "[e2e][config]")
{
    TempDir dir;
    for (const auto &r : startAndCheck({ "--config", dir.path(), "--listen", "127.0.0.1:0" })) {
        CHECK(r.status == 78);
        CHECK(r.err == "pisockd: " + dir.path() + ": is a directory, not a configuration file\n");
        CHECK(r.out.empty());
    }
}

TEST_CASE("an unreadable configuration file: exit 78 with the reason, --check too", "[e2e][config]")
{
    const auto wrapper = withoutFileOverride();
    if (!wrapper) {
        skipCase("as root, setpriv cannot drop CAP_DAC_OVERRIDE here: cannot be refused a file");
        return;
    }
    TempDir dir;
    const std::string conf = dir.write("pisockd.conf", "allow = 127.0.0.1\n");
    REQUIRE(::chmod(conf.c_str(), 0) == 0);
    for (const auto &r : startAndCheck({ "--config", conf, "--listen", "127.0.0.1:0" }, *wrapper)) {
        CHECK(r.status == 78);
        CHECK(r.err == "pisockd: " + conf + ": cannot open: Permission denied\n");
    }
}

TEST_CASE("a read error is not the end of the file: exit 78", "[e2e][config]")
{
    // /proc/self/mem is a "regular file" whose first read fails with EIO.
    for (const auto &r : startAndCheck({ "--config", "/proc/self/mem" })) {
        CHECK(r.status == 78);
        CHECK(r.err == "pisockd: /proc/self/mem: read error after 0 bytes: Input/output error\n");
    }
}

TEST_CASE("a NUL byte in the file: exit 78 naming the line", "[e2e][config]")
{
    TempDir dir;
    const std::string conf =
            dir.write("pisockd.conf", std::string("mode = reply\nallow = 127.0.0.1\0/8\n", 34));
    for (const auto &r : startAndCheck({ "--config", conf })) {
        CHECK(r.status == 78);
        CHECK(r.err == "pisockd: " + conf + ":2: NUL byte: a configuration file is text\n");
    }
}

TEST_CASE("a reload that cannot read the file keeps the listener and the allow list",
          "[e2e][config]")
{
    TempDir dir;
    const std::string conf = dir.write("pisockd.conf", "listen = 127.0.0.1:0\nallow = 127.0.0.1\n");
    Daemon d({ "--config", conf }, noActivation());
    const std::uint16_t port = loggedPort(d);
    REQUIRE(port != 0);
    Client denied("127.0.0.1", port, "127.0.0.2");
    CHECK(denied.readToEof(5s) == "error: not allowed\n");

    // The path becomes a directory, then disappears: each reload is rejected.
    REQUIRE(::unlink(conf.c_str()) == 0);
    REQUIRE(::mkdir(conf.c_str(), 0700) == 0);
    REQUIRE(d.reload());
    CHECK(d.waitForLog("reload rejected, old settings kept: " + conf +
                       ": is a directory, not a configuration file\n"));
    REQUIRE(::rmdir(conf.c_str()) == 0);
    REQUIRE(d.reload());
    CHECK(d.waitForLog("reload rejected, old settings kept: " + conf +
                       ": cannot open: No such file or directory\n"));

    Client served(port);
    served.send("still here\n");
    CHECK(served.readLine() == "server rec: still here");
    Client stillDenied("127.0.0.1", port, "127.0.0.2");
    CHECK(stillDenied.readToEof(5s) == "error: not allowed\n");
    CHECK(d.log().find("listening on [::]:8888") == std::string::npos);
    CHECK(d.log().find("configuration reloaded") == std::string::npos);
}

TEST_CASE("a byte-order mark is skipped and a comment after a value is a comment", "[e2e][config]")
{
    TempDir dir;
    const std::string conf = dir.write("pisockd.conf",
                                       "\xef\xbb\xbf"
                                       "listen = 127.0.0.1:0  # loopback only\n"
                                       "mode = reply  # the default\n"
                                       "reply-prefix = \"got # \"  ; quoted: # is text\n");
    Daemon d({ "--config", conf }, noActivation());
    Client c(loggedPort(d));
    c.send("hi\n");
    CHECK(c.readLine() == "got # hi");

    // Unquoted, the comment starts at '#' wherever it is: never part of the prefix.
    dir.write("pisockd.conf", "listen = 127.0.0.1:0\nreply-prefix = C#> \n");
    REQUIRE(d.reload());
    CHECK(d.waitForLog("configuration reloaded"));
    c.send("hi\n");
    CHECK(c.readLine() == "Chi");
}

TEST_CASE("an unterminated quote: exit 78 naming the line", "[e2e][config]")
{
    TempDir dir;
    const std::string conf = dir.write("pisockd.conf", "mode = reply\nreply-prefix = \"server\n");
    for (const auto &r : startAndCheck({ "--config", conf })) {
        CHECK(r.status == 78);
        CHECK(r.err == "pisockd: " + conf +
                               ":2: reply-prefix: unterminated quote (a quoted value ends with \" "
                               "on the same line)\n");
    }
}

TEST_CASE("one socket listed twice in two spellings: 64 on the command line, 78 in the file, "
          "--check too",
          "[e2e][config]")
{
    for (const auto &r :
         startAndCheck({ "--config", "/dev/null", "--listen", "9000", "--listen", "[::]:9000" })) {
        CHECK(r.status == 64);
        CHECK(r.err == "pisockd: --listen: '9000' and '[::]:9000' are the same socket\n");
    }
    TempDir dir;
    const std::string conf = dir.write(
            "pisockd.conf", "listen = *:9000\nlisten = 127.0.0.1:0\nlisten = [::]:9000\n");
    for (const auto &r : startAndCheck({ "--config", conf })) {
        CHECK(r.status == 78);
        CHECK(r.err ==
              "pisockd: " + conf +
                      ":3: listen: '[::]:9000' is the same socket as '*:9000' on line 1\n");
    }
}

TEST_CASE("a bad configuration file exits 78 naming the line and key", "[e2e][config]")
{
    TempDir dir;
    const auto unknown = dir.write("a.conf", "mode = reply\ncolour = blue\n");
    auto r = runProcess({ daemonPath(), "--config", unknown });
    CHECK(r.status == 78);
    CHECK(lineCount(r.err) == 1);
    CHECK(r.err.find("a.conf:2: unknown key 'colour'") != std::string::npos);

    const auto badValue = dir.write("b.conf", "\n\nmax-message = -5\n");
    r = runProcess({ daemonPath(), "--config", badValue });
    CHECK(r.status == 78);
    CHECK(lineCount(r.err) == 1);
    CHECK(r.err.find("b.conf:3: max-message") != std::string::npos);

    const auto noEquals = dir.write("c.conf", "listen\n");
    r = runProcess({ daemonPath(), "--config", noEquals });
    CHECK(r.status == 78);
    CHECK(r.err.find("c.conf:1:") != std::string::npos);

    r = runProcess({ daemonPath(), "--config", dir.path() + "/missing.conf" });
    CHECK(r.status == 78);
    CHECK(r.err.find("missing.conf: cannot open") != std::string::npos);
}

TEST_CASE("the configuration file sets options and the command line wins", "[e2e][config]")
{
    TempDir dir;
    const std::string conf = dir.write("pisockd.conf", "# comment\n"
                                                       "[pisockd]\n"
                                                       "listen = 127.0.0.1:0\n"
                                                       "reply-prefix = \"from file: \"\n"
                                                       "max-message = 10\n");
    {
        Daemon d({ "--config", conf }, noActivation());
        Client c(loggedPort(d, "127.0.0.1"));
        c.send("0123456789\n0123456789x\n");
        CHECK(c.readLine() == "from file: 0123456789");
        CHECK(c.readLine() == "error: message too long (limit 10 bytes)");
    }
    {
        Daemon d({ "--config", conf, "--reply-prefix", "cli: " }, noActivation());
        Client c(loggedPort(d, "127.0.0.1"));
        c.send("x\n");
        CHECK(c.readLine() == "cli: x");
    }
}
