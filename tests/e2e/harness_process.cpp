// The harness's programs: run to completion, or on a pseudo-terminal; what /proc says of a
// process; where the binaries under test are.

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/e2e/harness.h"
#include "tests/e2e/harness_internal.h"

extern char **environ;

namespace pisock::test {

namespace detail {

[[noreturn]] void die(const std::string &what)
{
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

int remainingMs(Clock::time_point deadline)
{
    const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string readFile(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::optional<int> waitFor(pid_t pid, Clock::time_point deadline)
{
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 && errno != EINTR)
            return -1;
        if (Clock::now() >= deadline)
            return std::nullopt;
        // Polling a child's exit has no fd to wait on without pidfd; 5 ms steps stay cheap.
        ::poll(nullptr, 0, 5);
    }
}

Env::Env(const std::vector<std::string> &extra, const std::vector<std::string> &unset)
{
    std::vector<std::string> drop = unset;
    for (const auto &kv : extra)
        drop.push_back(kv.substr(0, kv.find('='))); // an extra NAME=value replaces NAME
    for (char **e = environ; *e; ++e) {
        std::string_view kv(*e);
        bool skip = false;
        for (const auto &name : drop)
            skip = skip || kv.starts_with(name + "=");
        // An extra NAME=value replaces the inherited one.
        for (const auto &set : extra)
            skip = skip || kv.starts_with(set.substr(0, set.find('=') + 1));
        if (!skip)
            strings.emplace_back(kv);
    }
    // The first extra NAME=value wins over later ones (a test's own over the harness's):
    // exec'd under qemu-user, a program would see only the last of two.
    std::vector<std::string> set;
    for (const auto &kv : extra) {
        const std::string name = kv.substr(0, kv.find('=') + 1);
        if (std::find(set.begin(), set.end(), name) == set.end()) {
            set.push_back(name);
            strings.push_back(kv);
        }
    }
    for (auto &s : strings)
        pointers.push_back(s.data());
    pointers.push_back(nullptr);
}

std::vector<char *> argvOf(std::vector<std::string> &args)
{
    std::vector<char *> v;
    for (auto &a : args)
        v.push_back(a.data());
    v.push_back(nullptr);
    return v;
}

} // namespace detail

using detail::argvOf;
using detail::die;
using detail::Env;
using detail::readFile;
using detail::remainingMs;
using detail::waitFor;

std::string daemonPath()
{
    const char *p = std::getenv("PISOCKD");
    return p ? p : "build/daemon/pisockd";
}

std::string clientPath()
{
    const char *p = std::getenv("PISOCK");
    return p ? p : "build/client/pisock";
}

std::string python3Path()
{
    return "/usr/bin/python3";
}

ProcessResult runProcess(const std::vector<std::string> &argvIn, std::string_view input,
                         std::chrono::milliseconds timeout, const std::vector<std::string> &extra)
{
    TempDir dir;
    const std::string inPath = dir.write("stdin", input);
    const std::string outPath = dir.path() + "/stdout";
    const std::string errPath = dir.path() + "/stderr";
    std::vector<std::string> args = argvIn;
    auto argv = argvOf(args);
    Env env(extra, { "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
                     "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID" });

    const pid_t pid = ::fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int in = ::open(inPath.c_str(), O_RDONLY);
        int out = ::open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0)
            ::_exit(127);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::execve(argv[0], argv.data(), env.pointers.data());
        ::_exit(127);
    }
    ProcessResult r;
    auto status = waitFor(pid, Clock::now() + timeout);
    if (!status) {
        ::kill(pid, SIGKILL);
        status = waitFor(pid, Clock::now() + 5s);
    }
    r.status = status.value_or(-1);
    r.out = readFile(outPath);
    r.err = readFile(errPath);
    return r;
}

PtyProcess::PtyProcess(const std::vector<std::string> &argvIn, const std::vector<std::string> &env)
{
    std::vector<std::string> args = argvIn;
    auto argv = argvOf(args);
    std::vector<std::string> extra = { "TERM=xterm", "COLUMNS=80", "LINES=24" };
    extra.insert(extra.end(), env.begin(), env.end());
    Env envp(extra, { "LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET", "TERM", "COLUMNS", "LINES" });
    winsize ws{};
    ws.ws_row = 24;
    ws.ws_col = 80;
    int master = -1;
    pid_ = ::forkpty(&master, nullptr, nullptr, &ws);
    if (pid_ < 0)
        die("forkpty");
    if (pid_ == 0) {
        ::execve(argv[0], argv.data(), envp.pointers.data());
        ::_exit(127);
    }
    master_.reset(master);
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
}

PtyProcess::~PtyProcess()
{
    if (pid_ > 0 && status_ < 0) {
        ::kill(pid_, SIGKILL);
        detail::waitFor(pid_, Clock::now() + 10s);
    }
}

void PtyProcess::type(std::string_view keys)
{
    while (!keys.empty()) {
        const ssize_t n = ::write(master_.get(), keys.data(), keys.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            // The program may be blocked writing to the terminal: read its output meanwhile.
            fill(Clock::now() + 10ms);
            continue;
        }
        if (n < 0)
            die("write to pty");
        keys.remove_prefix(static_cast<std::size_t>(n));
    }
}

bool PtyProcess::fill(Clock::time_point deadline)
{
    pollfd p{ master_.get(), POLLIN, 0 };
    if (::poll(&p, 1, remainingMs(deadline)) <= 0)
        return false;
    char buf[4096];
    const ssize_t n = ::read(master_.get(), buf, sizeof(buf));
    if (n > 0) {
        output_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    return false; // EIO: the program closed the terminal
}

bool PtyProcess::waitFor(std::string_view needle, std::chrono::milliseconds timeout,
                         std::size_t from)
{
    const auto deadline = Clock::now() + timeout;
    const auto found = [&] {
        return output_.size() > from && output_.find(needle, from) != std::string::npos;
    };
    for (;;) {
        if (found())
            return true;
        if (Clock::now() >= deadline)
            return false;
        if (!fill(deadline) && exited())
            return found();
    }
}

bool PtyProcess::exited()
{
    if (status_ < 0) {
        if (auto s = detail::waitFor(pid_, Clock::now()))
            status_ = *s;
    }
    return status_ >= 0;
}

int PtyProcess::wait(std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    // Keep reading: a program blocked on a full terminal would never exit.
    while (!exited()) {
        if (Clock::now() >= deadline)
            return -1;
        fill(std::min(deadline, Clock::now() + 20ms));
    }
    while (fill(Clock::now())) {
    }
    return status_;
}

ProcessStats processStats(pid_t pid)
{
    ProcessStats stats;
    const std::string dir = "/proc/" + std::to_string(pid);
    std::istringstream status(readFile(dir + "/status"));
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0)
            stats.rssKiB = std::stol(line.substr(6));
        else if (line.rfind("VmHWM:", 0) == 0)
            stats.peakRssKiB = std::stol(line.substr(6));
    }
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (proc(5)), in clock ticks.
    const std::string stat = readFile(dir + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 1));
    std::vector<std::string> f{ std::istream_iterator<std::string>(fields), {} };
    if (f.size() > 12)
        stats.cpuSeconds = static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) /
                           static_cast<double>(::sysconf(_SC_CLK_TCK));
    return stats;
}

std::optional<std::vector<std::string>> withoutFileOverride()
{
    if (::geteuid() != 0)
        return std::vector<std::string>{};
    // Out of the inheritable set too (which takes them out of the ambient set): root's exec
    // gains what is inheritable, bounding set or not, and a systemd-nspawn container hands
    // root a full inheritable set. Dropping from the bounding set needs CAP_SETPCAP, which a
    // container may not give.
    std::vector<std::string> wrapper{ "/usr/bin/setpriv", // util-linux, essential on Debian
                                      "--bounding-set=-dac_override,-dac_read_search",
                                      "--inh-caps=-dac_override,-dac_read_search", "--" };
    if (::access(wrapper[0].c_str(), X_OK) != 0)
        return std::nullopt;
    // What the command really holds: neither bit 1 (CAP_DAC_OVERRIDE) nor bit 2
    // (CAP_DAC_READ_SEARCH) in its permitted and effective sets.
    std::vector<std::string> probe = wrapper;
    probe.insert(probe.end(), { "/bin/grep", "-E", "^Cap(Prm|Eff):", "/proc/self/status" });
    const auto r = runProcess(probe, {}, 10s);
    std::istringstream lines(r.out);
    int seen = 0;
    for (std::string name, hex; lines >> name >> hex; ++seen) {
        if ((std::stoull(hex, nullptr, 16) & 0b110) != 0)
            return std::nullopt;
    }
    if (r.status != 0 || seen != 2)
        return std::nullopt;
    return wrapper;
}

} // namespace pisock::test
