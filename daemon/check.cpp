#include "check.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <pwd.h>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>

#include "bridge.h"
#include "common/safe_text.h"
#include "exit_code.h"
#include "listen_set.h"
#include "listener.h"

namespace pisock {

namespace {

constexpr std::string_view kTcpListen = "0A";
constexpr unsigned kBridgeCheckMs = 5000; // for the broker's CONNACK
constexpr unsigned long kUnixAcceptingFlag = 0x10000; // __SO_ACCEPTCON

std::vector<std::string_view> words(std::string_view line)
{
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t')
            ++i;
        if (i > start)
            out.push_back(line.substr(start, i - start));
    }
    return out;
}

template<typename T> bool parseNumber(std::string_view text, T &value, int base)
{
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

// "0100007F:1F90" (IPv4) or 32 hex digits (IPv6): each group of 8 is one 32-bit word in the
// kernel's byte order, i.e. the address bytes as they are in memory.
bool parseHexAddress(std::string_view text, std::string &host, std::uint16_t &port)
{
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || !parseNumber(text.substr(colon + 1), port, 16))
        return false;
    const std::string_view hex = text.substr(0, colon);
    if (hex.size() != 8 && hex.size() != 32)
        return false;
    unsigned char bytes[16];
    for (std::size_t w = 0; w < hex.size() / 8; ++w) {
        std::uint32_t word = 0;
        if (!parseNumber(hex.substr(w * 8, 8), word, 16))
            return false;
        std::memcpy(bytes + w * 4, &word, 4);
    }
    char text46[INET6_ADDRSTRLEN];
    if (!::inet_ntop(hex.size() == 8 ? AF_INET : AF_INET6, bytes, text46, sizeof(text46)))
        return false;
    host = text46;
    return true;
}

// An address as bytes for comparison, IPv4 and IPv4-mapped IPv6 both as 4 bytes; empty for a
// host name, which is then taken to overlap everything.
std::string addressKey(const std::string &host)
{
    in6_addr v6{};
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
        return std::string(reinterpret_cast<const char *>(&v4), 4);
    if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&v6))
            return std::string(reinterpret_cast<const char *>(&v6) + 12, 4);
        return std::string(reinterpret_cast<const char *>(&v6), 16);
    }
    return {};
}

bool isWildcard(const std::string &key)
{
    return key.empty() || std::all_of(key.begin(), key.end(), [](char c) { return c == 0; });
}

struct DirCloser {
    void operator()(DIR *dir) const noexcept { ::closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

std::string readText(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The effective uid in a /proc/PID/status file ("Uid: real effective saved fs"); -1 if unread.
uid_t effectiveUid(const std::string &statusPath)
{
    std::istringstream status(readText(statusPath));
    for (std::string line; std::getline(status, line);) {
        if (!line.starts_with("Uid:"))
            continue;
        std::istringstream fields(line.substr(4));
        unsigned long real = 0;
        unsigned long effective = 0;
        if (fields >> real >> effective)
            return static_cast<uid_t>(effective);
    }
    return static_cast<uid_t>(-1);
}

// Whether two paths lead to one file (device and inode): /proc/PID/exe is the file a process
// runs, whatever it calls itself.
bool sameFile(const std::string &a, const std::string &b)
{
    struct stat sa {
    };
    struct stat sb {
    };
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

// "user pisockd (uid 61234)", or "uid 61234" when it has no name.
std::string describeUser(uid_t uid)
{
    const passwd *pw = ::getpwuid(uid);
    if (!pw || !pw->pw_name)
        return fmt::format("uid {}", uid);
    return fmt::format("user {} (uid {})", escapeText(pw->pw_name), uid);
}

// "port 8888 on [::]", "port 80 on 127.0.0.1", "unix:/run/pisockd.sock".
std::string describeEndpoint(const Endpoint &ep)
{
    if (ep.kind == Endpoint::Kind::Unix)
        return ep.toString();
    const std::string host = ep.host.empty()                          ? std::string("*")
                             : ep.host.find(':') != std::string::npos ? "[" + ep.host + "]"
                                                                      : ep.host;
    return fmt::format("port {} on {}", ep.port, host);
}

// What --check found for one address: fine (said on stdout) or a problem (on stderr).
struct Finding {
    bool problem = false;
    std::string sentence;
};

Finding inUse(const Endpoint &ep)
{
    std::vector<ListeningSocket> sockets;
    if (ep.kind == Endpoint::Kind::Unix) {
        sockets = parseProcNetUnix(readText("/proc/net/unix"));
    } else {
        sockets = parseProcNetTcp(readText("/proc/net/tcp"));
        auto v6 = parseProcNetTcp(readText("/proc/net/tcp6"));
        sockets.insert(sockets.end(), v6.begin(), v6.end());
    }
    const auto holders = findHolders(collidingInodes(ep, sockets));
    const std::string what = describeEndpoint(ep);
    switch (classifyHolders(holders)) {
    case HolderKind::RunningDaemon:
        return { false,
                 fmt::format("{} is in use by {}, run by {}, the running daemon: fine for "
                             "a reload, not for a second one",
                             what, describeHolders(holders), describeUser(holders.front().uid)) };
    case HolderKind::ServiceManager:
        return { false, fmt::format("{} is held by {}, for socket activation "
                                    "(pisockd.socket): the daemon gets it from there",
                                    what, describeHolders(holders)) };
    case HolderKind::Other:
        break;
    }
    if (!holders.empty())
        return { true, fmt::format("{} is in use by {}", what, describeHolders(holders)) };
    if (::geteuid() != 0)
        return { true, fmt::format("{} is in use by another user's process (run pisockd "
                                   "--check as root to see which)",
                                   what) };
    return { true, fmt::format("{} is in use, by no process that can be seen from here", what) };
}

Finding tryListen(const ListenPlan &plan)
{
    const Endpoint &ep = plan.endpoint;
    try {
        bool ipv4Only = false;
        const UniqueFd fd = openPlanned(plan, ipv4Only);
        // The socket file is ours: the daemon will create its own.
        if (ep.kind == Endpoint::Kind::Unix && !ep.path.starts_with('@'))
            ::unlink(ep.path.c_str());
        return { false, "can listen on " + ep.toString() };
    } catch (const std::system_error &e) {
        const int err = e.code().value();
        if (err == EADDRINUSE)
            return inUse(ep);
        if (const std::string hint = listenHint(ep, err); !hint.empty())
            return { true, fmt::format("{} ({})", hint, e.what()) };
        return { true, e.what() };
    }
}

} // namespace

std::string listenHint(const Endpoint &endpoint, int err)
{
    if (err == EADDRINUSE)
        return inUse(endpoint).sentence;
    if (err == EACCES && endpoint.kind == Endpoint::Kind::Inet && endpoint.port < 1024)
        return fmt::format("{} needs root or the CAP_NET_BIND_SERVICE capability",
                           describeEndpoint(endpoint));
    return {};
}

std::vector<ListeningSocket> parseProcNetTcp(std::string_view table)
{
    std::vector<ListeningSocket> out;
    std::size_t pos = table.find('\n'); // header
    while (pos != std::string_view::npos && pos < table.size()) {
        const auto end = table.find('\n', pos + 1);
        const auto line = table.substr(
                pos + 1, end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
        pos = end;
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
        const auto w = words(line);
        if (w.size() < 10 || w[3] != kTcpListen)
            continue;
        ListeningSocket s;
        if (!parseHexAddress(w[1], s.host, s.port) || !parseNumber(w[9], s.inode, 10))
            continue;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<ListeningSocket> parseProcNetUnix(std::string_view table)
{
    std::vector<ListeningSocket> out;
    std::size_t pos = table.find('\n');
    while (pos != std::string_view::npos && pos < table.size()) {
        const auto end = table.find('\n', pos + 1);
        const auto line = table.substr(
                pos + 1, end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
        pos = end;
        // Num RefCount Protocol Flags Type St Inode Path
        const auto w = words(line);
        unsigned long flags = 0;
        ListeningSocket s;
        if (w.size() < 8 || !parseNumber(w[3], flags, 16) || !(flags & kUnixAcceptingFlag) ||
            !parseNumber(w[6], s.inode, 10))
            continue;
        // The path is the rest of the line (it may hold spaces).
        s.path = std::string(line.substr(static_cast<std::size_t>(w[7].data() - line.data())));
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<unsigned long> collidingInodes(const Endpoint &endpoint,
                                           const std::vector<ListeningSocket> &sockets)
{
    std::vector<unsigned long> inodes;
    const std::string mine = addressKey(endpoint.host);
    for (const auto &s : sockets) {
        bool collides = false;
        if (endpoint.kind == Endpoint::Kind::Unix) {
            collides = s.path == endpoint.path;
        } else if (s.path.empty() && s.port == endpoint.port) {
            const std::string theirs = addressKey(s.host);
            collides = isWildcard(mine) || isWildcard(theirs) || mine == theirs;
        }
        if (collides && std::find(inodes.begin(), inodes.end(), s.inode) == inodes.end())
            inodes.push_back(s.inode);
    }
    return inodes;
}

std::vector<SocketHolder> findHolders(const std::vector<unsigned long> &inodes,
                                      const std::string &procRoot)
{
    std::vector<SocketHolder> holders;
    if (inodes.empty())
        return holders;
    DirPtr proc(::opendir(procRoot.c_str()));
    if (!proc)
        return holders;
    const std::string ownExe = procRoot + "/self/exe";
    while (const dirent *entry = ::readdir(proc.get())) {
        pid_t pid = 0;
        if (!parseNumber(std::string_view(entry->d_name), pid, 10))
            continue;
        const std::string fdDir = fmt::format("{}/{}/fd", procRoot, pid);
        DirPtr fds(::opendir(fdDir.c_str()));
        if (!fds)
            continue; // gone, or another user's: not ours to see
        bool holds = false;
        while (const dirent *fd = ::readdir(fds.get())) {
            char target[64];
            const std::string link = fdDir + "/" + fd->d_name;
            const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
            unsigned long inode = 0;
            if (n <= 0)
                continue;
            const std::string_view t(target, static_cast<std::size_t>(n));
            if (t.starts_with("socket:[") && t.ends_with(']') &&
                parseNumber(t.substr(8, t.size() - 9), inode, 10) &&
                std::find(inodes.begin(), inodes.end(), inode) != inodes.end()) {
                holds = true;
                break;
            }
        }
        if (!holds)
            continue;
        std::string name = readText(fmt::format("{}/{}/comm", procRoot, pid));
        if (name.ends_with('\n'))
            name.pop_back(); // the kernel's; the rest is the process's own choice
        holders.push_back({ pid, name.empty() ? std::string("?") : name,
                            effectiveUid(fmt::format("{}/{}/status", procRoot, pid)),
                            sameFile(fmt::format("{}/{}/exe", procRoot, pid), ownExe) });
    }
    std::sort(holders.begin(), holders.end(),
              [](const SocketHolder &a, const SocketHolder &b) { return a.pid < b.pid; });
    return holders;
}

HolderKind classifyHolders(const std::vector<SocketHolder> &holders)
{
    if (holders.empty())
        return HolderKind::Other;
    auto all = [&](auto pred) { return std::all_of(holders.begin(), holders.end(), pred); };
    const uid_t me = ::geteuid();
    if (all([&](const SocketHolder &h) {
            return h.sameExecutable && h.pid != ::getpid() && (h.uid == me || me == 0);
        }))
        return HolderKind::RunningDaemon;
    if (all([](const SocketHolder &h) { return h.name == "systemd" && h.pid == 1; }))
        return HolderKind::ServiceManager;
    return HolderKind::Other;
}

std::string describeHolders(const std::vector<SocketHolder> &holders)
{
    // Group by name, in order of each name's lowest pid: "nginx (pids 10, 11)".
    std::vector<std::pair<std::string, std::vector<pid_t>>> groups;
    for (const auto &h : holders) {
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const auto &g) { return g.first == h.name; });
        if (it == groups.end())
            groups.push_back({ h.name, { h.pid } });
        else
            it->second.push_back(h.pid);
    }
    std::string out;
    for (std::size_t i = 0; i < groups.size(); ++i) {
        if (i > 0)
            out += i + 1 == groups.size() ? " and " : ", ";
        const auto &[name, pids] = groups[i];
        out += fmt::format("{} (pid{} ", escapeText(name), pids.size() > 1 ? "s" : "");
        for (std::size_t j = 0; j < pids.size(); ++j)
            out += fmt::format("{}{}", j > 0 ? ", " : "", pids[j]);
        out += ')';
    }
    return out;
}

int runCheck(const CommandLine &cmd, const Settings &settings)
{
    // Every sentence goes to a terminal, and may hold a path, a process or user name, or an
    // error: escaped (common/safe_text.h).
    const std::string path = escapeText(cmd.configPath);
    if (settings.fromFile)
        std::printf("pisockd: configuration %s is valid\n", path.c_str());
    else
        std::printf("pisockd: no configuration file at %s, built-in defaults\n", path.c_str());
    int problems = 0;
    for (const auto &plan : listenPlan(settings.listen, settings.reusePort)) {
        const Finding f = tryListen(plan);
        std::fprintf(f.problem ? stderr : stdout, "pisockd: %s\n", escapeText(f.sentence).c_str());
        problems += f.problem ? 1 : 0;
    }
    if (!settings.bridge.empty()) {
        // The broker as the daemon would meet it: address, TLS, user and password.
        std::string ok;
        const std::string problem = checkBridge(settings, ok, kBridgeCheckMs);
        std::fprintf(problem.empty() ? stdout : stderr, "pisockd: %s\n",
                     escapeText(problem.empty() ? ok : problem).c_str());
        problems += problem.empty() ? 0 : 1;
    }
    std::fflush(stdout);
    return problems == 0 ? kExitOk : kExitOsErr;
}

} // namespace pisock
