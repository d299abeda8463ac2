// pisockd --check end to end: exit 0 when every address can be listened on, otherwise one
// plain sentence per problem, naming the process that holds a busy port.

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

// How /proc names this test process: the holder --check should find.
std::string self()
{
    std::string comm;
    std::getline(std::ifstream("/proc/self/comm"), comm);
    return comm + " (pid " + std::to_string(::getpid()) + ")";
}

} // namespace

TEST_CASE("--check passes and exits 0 when every address is free", "[e2e][check]")
{
    TempDir dir;
    const std::string sock = dir.path() + "/check.sock";
    auto r = runProcess({ daemonPath(), "--check", "--config", dir.write("ok.conf", ""), "--listen",
                          "127.0.0.1:0", "--listen", "unix:" + sock });
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find("configuration " + dir.path() + "/ok.conf is valid") != std::string::npos);
    CHECK(r.out.find("can listen on 127.0.0.1:0") != std::string::npos);
    CHECK(r.out.find("can listen on unix:" + sock) != std::string::npos);
    CHECK(::access(sock.c_str(), F_OK) != 0); // its trial socket file is gone
}

TEST_CASE("--check names the process holding a busy port", "[e2e][check]")
{
    auto taken = listenLoopback();
    const std::string port = std::to_string(localPort(taken.get()));
    auto r = runProcess({ daemonPath(), "--check", "--listen", "127.0.0.1:" + port });
    CHECK(r.status == 71);
    CHECK(r.err == "pisockd: port " + port + " on 127.0.0.1 is in use by " + self() + "\n");

    // [::] is dual-stack: it collides with an IPv4 listener on the same port.
    r = runProcess({ daemonPath(), "--check", "--listen", "[::]:" + port });
    CHECK(r.status == 71);
    CHECK(r.err == "pisockd: port " + port + " on [::] is in use by " + self() + "\n");
}

TEST_CASE("--check names the process holding a unix socket", "[e2e][check]")
{
    TempDir dir;
    const std::string path = dir.path() + "/busy.sock";
    pisock::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, path.c_str(), sizeof(sun.sun_path) - 1);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0);
    REQUIRE(::listen(fd.get(), 4) == 0);
    auto r = runProcess({ daemonPath(), "--check", "--listen", "unix:" + path });
    CHECK(r.status == 71);
    CHECK(r.err == "pisockd: unix:" + path + " is in use by " + self() + "\n");
}

TEST_CASE("--check reports every problem, one sentence each", "[e2e][check]")
{
    TempDir dir;
    auto a = listenLoopback();
    auto b = listenLoopback();
    const auto conf =
            dir.write("pisockd.conf", "listen = 127.0.0.1:" + std::to_string(localPort(a.get())) +
                                              "\nlisten = 127.0.0.1:0\nlisten = 127.0.0.1:" +
                                              std::to_string(localPort(b.get())) + "\n");
    auto r = runProcess({ daemonPath(), "--check", "--config", conf });
    CHECK(r.status == 71);
    CHECK(lineCount(r.err) == 2);
    CHECK(r.err.find("port " + std::to_string(localPort(a.get()))) != std::string::npos);
    CHECK(r.err.find("port " + std::to_string(localPort(b.get()))) != std::string::npos);
    CHECK(r.out.find("can listen on 127.0.0.1:0") != std::string::npos);
}

TEST_CASE("--check with a bad configuration file says why in one line, exit 78", "[e2e][check]")
{
    TempDir dir;
    auto r = runProcess({ daemonPath(), "--check", "--config",
                          dir.write("bad.conf", "max-connections = lots\n") });
    CHECK(r.status == 78);
    CHECK(lineCount(r.err) == 1);
    CHECK(r.err.find("bad.conf:1: max-connections: 'lots' is not a number") != std::string::npos);
}

TEST_CASE("--check beside a running pisockd on the same address passes and says so", "[e2e][check]")
{
    DaemonOptions o;
    o.socketActivation = false;
    TempDir dir;
    const std::string sock = dir.path() + "/running.sock";
    Daemon d({ "--listen", "unix:" + sock }, o);
    auto r = runProcess({ daemonPath(), "--check", "--listen", "unix:" + sock });
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    const std::string user = ::geteuid() == 0 ? "user root (uid 0)" : "";
    INFO(r.out);
    CHECK(r.out.find("unix:" + sock + " is in use by pisockd (pid " + std::to_string(d.pid()) +
                     "), run by " + user) != std::string::npos);
    CHECK(r.out.find(", the running daemon: fine for a reload, not for a second one") !=
          std::string::npos);
}

namespace {

// A child process that calls itself name (PR_SET_NAME, as any process may) and holds the
// listening socket fd; stopped by PID when this goes.
class NamedHolder
{
public:
    NamedHolder(const std::string &name, pisock::UniqueFd &fd)
    {
        int gate[2];
        REQUIRE(::pipe2(gate, O_CLOEXEC) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
            ::close(gate[0]);
            ::close(gate[1]); // tells the parent the name is set
            for (;;)
                ::pause(); // holds fd until killed
        }
        ::close(gate[1]);
        char byte = 0;
        [[maybe_unused]] auto n = ::read(gate[0], &byte, 1); // EOF once the child is named
        ::close(gate[0]);
        fd.reset(); // the child's copy is the only one left
    }
    ~NamedHolder()
    {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    NamedHolder(const NamedHolder &) = delete;
    NamedHolder &operator=(const NamedHolder &) = delete;
    [[nodiscard]] pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

} // namespace

TEST_CASE("--check does not take a process that calls itself pisockd for the daemon",
          "[e2e][check]")
{
    auto taken = listenLoopback();
    const std::string port = std::to_string(localPort(taken.get()));
    NamedHolder impostor("pisockd", taken);
    auto r = runProcess(
            { daemonPath(), "--check", "--config", "/dev/null", "--listen", "127.0.0.1:" + port });
    CHECK(r.status == 71);
    CHECK(r.err == "pisockd: port " + port + " on 127.0.0.1 is in use by pisockd (pid " +
                           std::to_string(impostor.pid()) + ")\n");
    CHECK(r.out.find("running daemon") == std::string::npos);
}

TEST_CASE("--check prints a process name that holds escape sequences escaped", "[e2e][check]")
{
    auto taken = listenLoopback();
    const std::string port = std::to_string(localPort(taken.get()));
    NamedHolder holder("\x1b]0;owned\x07", taken);
    auto r = runProcess(
            { daemonPath(), "--check", "--config", "/dev/null", "--listen", "127.0.0.1:" + port });
    CHECK(r.status == 71);
    CHECK(r.err == "pisockd: port " + port + " on 127.0.0.1 is in use by \\x1b]0;owned\\x07 (pid " +
                           std::to_string(holder.pid()) + ")\n");
}
