// The command lines: an unknown option or a bad value is one line and exit 64 (pisock: 2),
// nothing left running, a misspelt option named with the one meant; one duration grammar in
// both programs; --help and --version exit 0.

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

TEST_CASE("an unknown option is named with the option meant, in both programs", "[e2e][cli]")
{
    auto r = runProcess({ daemonPath(), "--mdoe", "echo" });
    CHECK(r.status == 64);
    CHECK(r.err == "pisockd: unknown option --mdoe (did you mean --mode?)\n");
    r = runProcess({ daemonPath(), "--max-conections=5" });
    CHECK(r.status == 64);
    CHECK(r.err == "pisockd: unknown option --max-conections (did you mean --max-connections?)\n");
    r = runProcess({ daemonPath(), "--colour", "blue" });
    CHECK(r.status == 64);
    CHECK(r.err == "pisockd: unknown option --colour (see pisockd --help)\n");
    r = runProcess({ daemonPath(), "echo" });
    CHECK(r.status == 64);
    CHECK(r.err ==
          "pisockd: unexpected argument 'echo': pisockd takes options only (see pisockd --help)\n");

    r = runProcess({ clientPath(), "--timout", "5", "localhost" });
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: unknown option --timout (did you mean --timeout?)\n");
    r = runProcess({ clientPath(), "--lisen-only" });
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: unknown option --lisen-only (did you mean --listen-only?)\n");
}

TEST_CASE("a configuration key misspelt is named with the key meant", "[e2e][cli]")
{
    TempDir dir;
    const auto conf = dir.write("pisockd.conf", "mdoe = echo\n");
    const auto r = runProcess({ daemonPath(), "--config", conf, "--check" });
    CHECK(r.status == 78);
    CHECK(r.err.find(conf + ":1: unknown key 'mdoe' (did you mean 'mode'?)") != std::string::npos);
}

TEST_CASE("one duration grammar: 250ms, 2s, 5m, 1h and plain seconds in both programs",
          "[e2e][cli]")
{
    // pisockd: whole seconds, in any unit.
    TempDir dir;
    for (const char *ok : { "300", "300s", "5m", "1h", "2000ms", "1.5m" }) {
        const auto r = runProcess({ daemonPath(), "--config", "/dev/null", "--idle-timeout", ok,
                                    "--listen", "127.0.0.1:0", "--check" });
        INFO(ok << ": " << r.err);
        CHECK(r.status == 0);
    }
    auto r = runProcess({ daemonPath(), "--config", "/dev/null", "--idle-timeout", "250ms" });
    CHECK(r.status == 64);
    CHECK(r.err == "pisockd: --idle-timeout: '250ms' is not a whole number of seconds\n");
    r = runProcess({ daemonPath(), "--config", "/dev/null", "--shutdown-timeout", "soon" });
    CHECK(r.status == 64);
    CHECK(r.err ==
          "pisockd: --shutdown-timeout: 'soon' is not a duration (e.g. 30, 30s, 5m, 1h)\n");

    // pisock: the same words, and fractions.
    Daemon d;
    for (const char *ok : { "5", "0.5", "250ms", "2s", "5m", "1h" }) {
        r = runProcess({ clientPath(), "--timeout", ok, "-m", "hi", "127.0.0.1",
                         std::to_string(d.port()) });
        INFO(ok << ": " << r.err);
        CHECK(r.status == 0);
        CHECK(r.out == "server rec: hi\n");
    }
    r = runProcess({ clientPath(), "--timeout", "2d", "-m", "hi" });
    CHECK(r.status == 2);
    CHECK(r.err.find("--timeout: '2d' is not a duration") != std::string::npos);
}

TEST_CASE("pisockd --help: one value name per option, no '...', defaults, 80 columns, exit "
          "statuses",
          "[e2e][cli]")
{
    const auto r = runProcess({ daemonPath(), "--help" });
    REQUIRE(r.status == 0);
    CHECK(r.out.find("...") == std::string::npos);
    std::size_t start = 0;
    while (start < r.out.size()) {
        const std::size_t end = r.out.find('\n', start);
        const std::string line = r.out.substr(start, end - start);
        INFO(line);
        CHECK(line.size() <= 80);
        start = end == std::string::npos ? r.out.size() : end + 1;
    }
    for (const char *text :
         { "--listen ADDR", "[::]:8888)", "(default reply)", "(default line)", "(default 5m)",
           "(default 64K)", "Exit status:", "64  bad command line", "78  bad configuration file",
           "250ms, 30s, 5m, 1h" })
        CHECK(r.out.find(text) != std::string::npos);
}
