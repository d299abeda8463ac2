// `allow = lan` in network namespaces this test creates: the daemon runs in one (the test
// process's own, after unshare(CLONE_NEWNET)), clients in another, joined by a veth pair. A
// client from a global IPv6 prefix of the daemon's interface is served; once the prefix is
// removed, the next client from it is told it is not allowed. Skipped, with the reason, where
// namespaces cannot be made (no CAP_SYS_ADMIN, no veth).

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

constexpr const char *kServerAddress = "2001:db8:ffff::1"; // a /128: outside the prefix tested
constexpr const char *kClientAddress = "2001:db8:1::2";

// The full path of a system program (runProcess() does not search PATH); name if none.
std::string program(const std::string &name)
{
    for (const char *dir : { "/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/" })
        if (const std::string path = dir + name; ::access(path.c_str(), X_OK) == 0)
            return path;
    return name;
}

// A process that holds a second network namespace open while the test runs; killed by PID.
class PeerNamespace
{
public:
    PeerNamespace()
    {
        int ready[2];
        if (::pipe2(ready, O_CLOEXEC) != 0)
            return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            const char ok = ::unshare(CLONE_NEWNET) == 0 ? '1' : '0';
            [[maybe_unused]] auto n = ::write(ready[1], &ok, 1);
            ::pause();
            ::_exit(0);
        }
        ::close(ready[1]);
        char ok = '0';
        if (pid_ > 0 && ::read(ready[0], &ok, 1) == 1 && ok == '1')
            ns_.reset(::open(("/proc/" + std::to_string(pid_) + "/ns/net").c_str(),
                             O_RDONLY | O_CLOEXEC));
        ::close(ready[0]);
    }
    ~PeerNamespace()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    PeerNamespace(const PeerNamespace &) = delete;
    PeerNamespace &operator=(const PeerNamespace &) = delete;

    [[nodiscard]] bool ok() const { return static_cast<bool>(ns_); }
    [[nodiscard]] std::string pid() const { return std::to_string(pid_); }

    // Runs a command in this namespace; true if it exits 0.
    bool run(std::vector<std::string> argv) const
    {
        argv.insert(argv.begin(), { program("nsenter"), "-t", pid(), "-n" });
        const auto r = runProcess(argv);
        INFO(r.err);
        return r.status == 0;
    }

    // A TCP connection from source to the daemon, made in this namespace (a socket stays in
    // the namespace it was created in; a thread joins the namespace to create it).
    UniqueFd connect(const char *source, const char *host, std::uint16_t port) const
    {
        UniqueFd out;
        std::thread([&] {
            if (::setns(ns_.get(), CLONE_NEWNET) != 0)
                return;
            UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
            sockaddr_in6 from{};
            from.sin6_family = AF_INET6;
            ::inet_pton(AF_INET6, source, &from.sin6_addr);
            sockaddr_in6 to{};
            to.sin6_family = AF_INET6;
            to.sin6_port = htons(port);
            ::inet_pton(AF_INET6, host, &to.sin6_addr);
            if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&from), sizeof(from)) == 0 &&
                ::connect(fd.get(), reinterpret_cast<sockaddr *>(&to), sizeof(to)) == 0)
                out = std::move(fd);
        }).join();
        return out;
    }

private:
    pid_t pid_ = -1;
    UniqueFd ns_;
};

// Runs ip(8) with args; "" if it succeeded, else what it said.
std::string ipFails(std::vector<std::string> args)
{
    args.insert(args.begin(), program("ip"));
    const auto r = runProcess(args);
    return r.status == 0 ? std::string() : "ip: status " + std::to_string(r.status) + ": " + r.err;
}

bool ip(std::vector<std::string> args)
{
    const std::string why = ipFails(std::move(args));
    INFO(why);
    return why.empty();
}

UniqueFd listenAny()
{
    UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr *>(&any), sizeof(any)) != 0 ||
        ::listen(fd.get(), 16) != 0)
        return {};
    return fd;
}

} // namespace

TEST_CASE("allow = lan serves this machine's prefixes and follows their removal", "[e2e][lan]")
{
    // Before any thread: a namespace is per thread, and threads inherit their creator's.
    if (::unshare(CLONE_NEWNET) != 0) {
        skipCase(std::string("cannot create a network namespace: ") + std::strerror(errno));
        return;
    }
    const PeerNamespace peer;
    if (!peer.ok()) {
        skipCase("cannot create the clients' network namespace");
        return;
    }
    if (const std::string why = ipFails(
                { "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", peer.pid() });
        !why.empty()) {
        skipCase("cannot create a veth pair: " + why);
        return;
    }
    REQUIRE(ip({ "link", "set", "lo", "up" }));
    REQUIRE(ip({ "-6", "addr", "add", "2001:db8:1::1/64", "dev", "v0", "nodad" }));
    REQUIRE(ip(
            { "-6", "addr", "add", std::string(kServerAddress) + "/128", "dev", "v0", "nodad" }));
    REQUIRE(ip({ "link", "set", "v0", "up" }));
    // Replies still find the client once its prefix is gone here.
    REQUIRE(ip({ "-6", "route", "add", "default", "dev", "v0" }));
    const std::string ipPath = program("ip");
    REQUIRE(peer.run({ ipPath, "link", "set", "lo", "up" }));
    REQUIRE(peer.run({ ipPath, "-6", "addr", "add", std::string(kClientAddress) + "/64", "dev",
                       "v1", "nodad" }));
    REQUIRE(peer.run({ ipPath, "link", "set", "v1", "up" }));
    REQUIRE(peer.run(
            { ipPath, "-6", "route", "add", std::string(kServerAddress) + "/128", "dev", "v1" }));

    UniqueFd listener = listenAny();
    REQUIRE(listener);
    const std::uint16_t port = localPort(listener.get());
    DaemonOptions options;
    options.socketActivation = false;
    options.passFds = { listener.get() };
    Daemon d({ "--allow", "lan" }, options);
    CHECK(d.waitForLog("allow = lan: serving this machine's subnets, now "));
    CHECK(d.log().find("2001:db8:1::/64") != std::string::npos);

    {
        Client served(peer.connect(kClientAddress, kServerAddress, port));
        REQUIRE(served.fd() >= 0);
        CHECK(roundTrip(served, "from the LAN"));
    }
    REQUIRE(ip({ "-6", "addr", "del", "2001:db8:1::1/64", "dev", "v0" }));
    CHECK(d.waitForLog("allow = lan: no longer serving 2001:db8:1::/64"));
    {
        Client refused(peer.connect(kClientAddress, kServerAddress, port));
        REQUIRE(refused.fd() >= 0);
        bool timedOut = true;
        CHECK(refused.readToEof(5s, &timedOut) == "error: not allowed\n");
        CHECK_FALSE(timedOut);
    }
    CHECK(d.waitForLog("denied [2001:db8:1::2]:"));
    // And back: the prefix added again is served again, without a reload.
    REQUIRE(ip({ "-6", "addr", "add", "2001:db8:1::1/64", "dev", "v0", "nodad" }));
    CHECK(d.waitForLog("allow = lan: now serving 2001:db8:1::/64"));
    {
        Client again(peer.connect(kClientAddress, kServerAddress, port));
        REQUIRE(again.fd() >= 0);
        CHECK(roundTrip(again, "back on the LAN"));
    }
    CHECK(d.stop() == 0);
}
