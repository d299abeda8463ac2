// The sessions the READMEs show happen as shown. A block marked "<!-- checked: session -->"
// is replayed against a fresh pisockd, the way scripts/run starts it: every line after a
// prompt is typed into pisock on a terminal, every other line must be what the terminal then
// shows; "$ CMD | pisock" runs CMD into pisock. The next block marked
// "<!-- checked: log -->" holds lines of that daemon's log, which must all be in it, in order.
//
// Only the parts a run cannot reproduce are normalized: the daemon listens on localhost and a
// free port (shown as [::]:8888 and localhost:8888), and times, durations and the clients'
// loopback addresses and ports ([::1]:51234 where localhost is ::1 first, as on Debian and
// Raspberry Pi OS; 127.0.0.1:51234 elsewhere) are compared by their form.

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/locales.h"

using namespace pisock::test;

namespace {

struct Session {
    std::string file; // README.zh_CN.md: pisock runs in a zh_CN.UTF-8 locale
    std::size_t line = 0; // of the marker
    std::vector<std::string> lines; // the console block
    std::vector<std::string> log; // the log block that follows, if any
};

std::string sourceFile(const std::string &name)
{
    const char *root = std::getenv("PISOCK_SOURCE_ROOT");
    REQUIRE(root != nullptr);
    return std::string(root) + "/" + name;
}

// The lines of the fenced block that starts at or after index i; i is left after it.
std::vector<std::string> fencedBlock(const std::vector<std::string> &text, std::size_t &i)
{
    while (i < text.size() && !text[i].starts_with("```"))
        ++i;
    std::vector<std::string> block;
    for (++i; i < text.size() && !text[i].starts_with("```"); ++i)
        block.push_back(text[i]);
    ++i;
    return block;
}

std::vector<Session> checkedSessions(const std::string &name)
{
    std::ifstream in(sourceFile(name));
    REQUIRE(in);
    std::vector<std::string> text;
    for (std::string line; std::getline(in, line);)
        text.push_back(line);
    std::vector<Session> sessions;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == "<!-- checked: session -->") {
            sessions.push_back({ name, i + 1, {}, {} });
            sessions.back().lines = fencedBlock(text, i);
        } else if (text[i] == "<!-- checked: log -->") {
            REQUIRE_FALSE(sessions.empty());
            sessions.back().log = fencedBlock(text, i);
        } else {
            ++i;
        }
    }
    return sessions;
}

// What a terminal shows of raw output, line by line: escape sequences dropped, a carriage
// return starts the line over (libedit redraws the prompt that way), a backspace rubs out.
std::vector<std::string> screenLines(const std::string &raw)
{
    std::vector<std::string> lines;
    std::string line;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '\x1b') {
            if (i + 1 < raw.size() && raw[i + 1] == '[') {
                for (i += 2; i < raw.size() && (raw[i] < 0x40 || raw[i] > 0x7e); ++i) {
                }
            } else {
                ++i;
            }
        } else if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') {
            continue;
        } else if (c == '\r') {
            line.clear();
        } else if (c == '\n') {
            lines.push_back(line);
            line.clear();
        } else if (c == '\b') {
            if (!line.empty())
                line.pop_back();
        } else if (static_cast<unsigned char>(c) >= 0x20) {
            line += c;
        }
    }
    if (!line.empty())
        lines.push_back(line);
    return lines;
}

std::string replaceAll(std::string text, const std::string &from, const std::string &to)
{
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// A log line with what differs from run to run made the same.
std::string normalizeLog(std::string line)
{
    static const std::regex time(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} )");
    static const std::regex peer(R"((\[::1\]|127\.0\.0\.1):\d+ #)");
    static const std::regex duration(R"(after \d+(\.\d+)?s)");
    line = std::regex_replace(line, time, "TIME ");
    line = std::regex_replace(line, peer, "LOOPBACK:PORT #");
    return std::regex_replace(line, duration, "after Ts");
}

// The command of a "$ CMD   # comment" line.
std::string commandOf(const std::string &line)
{
    std::string cmd = line.substr(2);
    if (const auto hash = cmd.find(" #"); hash != std::string::npos)
        cmd.resize(hash);
    while (!cmd.empty() && cmd.back() == ' ')
        cmd.pop_back();
    return cmd;
}

bool isClient(const std::string &word)
{
    return word == "pisock" || word == "build/client/pisock";
}

// Runs the commands of a session against the daemon on port; returns what was shown.
std::vector<std::string> replay(const Session &s, std::uint16_t port, const std::string &prompt,
                                std::vector<std::string> env)
{
    const std::string port8888 = "localhost:" + std::to_string(port);
    std::vector<std::string> shown;
    TempDir state;
    env.push_back("XDG_STATE_HOME=" + state.path());
    for (std::size_t i = 0; i < s.lines.size();) {
        const std::string &line = s.lines[i];
        INFO(s.file << " line " << s.line + 1 + i << ": " << line);
        REQUIRE(line.starts_with("$ "));
        shown.push_back(line);
        const std::string cmd = commandOf(line);
        std::size_t next = i + 1;
        while (next < s.lines.size() && !s.lines[next].starts_with("$ "))
            ++next;
        if (isClient(cmd)) { // on a terminal: type what follows each prompt
            PtyProcess t({ clientPath(), "localhost", std::to_string(port) }, env);
            std::size_t from = 0;
            for (std::size_t k = i + 1; k < next; ++k) {
                // As a person does: wait for each line before typing the next one.
                const bool typed = s.lines[k].starts_with(prompt);
                const std::string wanted =
                        replaceAll(typed ? prompt : s.lines[k], "localhost:8888", port8888);
                REQUIRE(t.waitFor(wanted, 10s, from));
                from = t.output().find(wanted, from) + wanted.size();
                if (typed)
                    t.type(s.lines[k].substr(prompt.size()) + "\r");
            }
            CHECK(t.wait(20s) >= 0);
            for (const auto &l : screenLines(t.output()))
                shown.push_back(replaceAll(l, port8888, "localhost:8888"));
        } else { // "CMD | pisock": the client gets the address it defaults to
            const auto bar = cmd.rfind("| ");
            REQUIRE(bar != std::string::npos);
            REQUIRE(isClient(cmd.substr(bar + 2)));
            const std::string shell = cmd.substr(0, bar + 2) + "'" + clientPath() + "' localhost " +
                                      std::to_string(port);
            const auto r = runProcess({ "/bin/sh", "-c", shell }, {}, 20s, env);
            CHECK(r.status == 0);
            std::istringstream out(r.out + r.err);
            for (std::string l; std::getline(out, l);)
                shown.push_back(l);
        }
        i = next;
    }
    return shown;
}

// env: the user's locale (none: the tests' own C.UTF-8).
void check(const Session &s, const std::vector<std::string> &env = {})
{
    INFO(s.file << ", the session marked at line " << s.line);
    DaemonOptions own;
    own.socketActivation = false;
    Daemon d({ "--config", "/dev/null", "--listen", "localhost:0" }, own);
    std::smatch m;
    const std::string startLog = d.log();
    REQUIRE(std::regex_search(startLog, m, std::regex(R"(listening on (\S+):(\d+))")));
    const std::string listening = m[1].str() + ":" + m[2].str();
    const auto port = static_cast<std::uint16_t>(std::stoi(m[2]));

    const std::vector<std::string> shown = replay(s, port, "localhost:8888> ", env);
    CHECK(shown == s.lines);

    REQUIRE(d.stop() == 0);
    std::vector<std::string> log;
    std::istringstream in(replaceAll(d.log(), listening, "[::]:8888"));
    for (std::string l; std::getline(in, l);)
        log.push_back(normalizeLog(l));
    std::size_t at = 0;
    for (const auto &want : s.log) {
        INFO("README log line: " << want);
        INFO("the daemon's log:\n" << d.log());
        while (at < log.size() && log[at] != normalizeLog(want))
            ++at;
        CHECK(at < log.size());
    }
}

} // namespace

TEST_CASE("the sessions README.md shows happen as shown", "[e2e][docs]")
{
    const auto sessions = checkedSessions("README.md");
    REQUIRE(sessions.size() >= 2);
    for (const auto &s : sessions)
        check(s);
}

TEST_CASE("the sessions README.zh_CN.md shows happen as shown", "[e2e][docs]")
{
    const auto chinese = chineseUser();
    if (!chinese)
        return;
    const auto sessions = checkedSessions("README.zh_CN.md");
    REQUIRE(sessions.size() >= 1);
    for (const auto &s : sessions)
        check(s, *chinese);
}
