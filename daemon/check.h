#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "common/address.h"
#include "options.h"
#include "settings.h"

namespace pisock {

// pisockd --check: the configuration has parsed (or main would have said why); tries every
// listen address and says what is wrong, one plain sentence per problem on stderr, what is
// fine on stdout. Returns the exit status: 0 when all is well.
int runCheck(const CommandLine &cmd, const Settings &settings);

// What --check says about an address that failed with err, for the error at startup too: who
// holds it (EADDRINUSE), or that ports below 1024 need CAP_NET_BIND_SERVICE (EACCES); "" when
// there is nothing to add.
std::string listenHint(const Endpoint &endpoint, int err);

// A listening socket as the kernel lists it in /proc/net/{tcp,tcp6,unix}.
struct ListeningSocket {
    std::string host; // "127.0.0.1", "::", "::ffff:127.0.0.1"; empty for unix
    std::uint16_t port = 0;
    std::string path; // unix sockets: the path, "@name" for abstract ones
    unsigned long inode = 0;
};

// The listening (state 0A) sockets of a /proc/net/tcp or /proc/net/tcp6 table.
std::vector<ListeningSocket> parseProcNetTcp(std::string_view table);
// The listening sockets of /proc/net/unix that have a path.
std::vector<ListeningSocket> parseProcNetUnix(std::string_view table);
// The sockets among these that an endpoint collides with: same port and overlapping addresses
// (a wildcard on either side overlaps everything; IPv4-mapped IPv6 is IPv4), or same path.
std::vector<unsigned long> collidingInodes(const Endpoint &endpoint,
                                           const std::vector<ListeningSocket> &sockets);

struct SocketHolder {
    pid_t pid = 0;
    std::string name; // /proc/PID/comm: whatever the process chose (PR_SET_NAME), never trusted
    uid_t uid = 0; // effective, from /proc/PID/status
    bool sameExecutable = false; // /proc/PID/exe is the very file this process runs
};

// Processes with one of these socket inodes open, found through procRoot/PID/fd. Processes
// this user may not look into are skipped.
std::vector<SocketHolder> findHolders(const std::vector<unsigned long> &inodes,
                                      const std::string &procRoot = "/proc");
// Who holds an address --check wanted. Not problems: a running pisockd (a reload keeps its
// sockets), told by its executable (the same file as ours, by device and inode) and its user
// (ours, or any when we are root), never by its name; and systemd as pid 1 (socket activation
// passes the socket on).
enum class HolderKind { Other, RunningDaemon, ServiceManager };
HolderKind classifyHolders(const std::vector<SocketHolder> &holders);

// "pigpiod (pid 123)", "nginx (pids 10, 11)", "pigpiod (pid 1) and ssh (pid 2)"; names
// escaped (common/safe_text.h): a process name is its own choice and goes to a terminal.
std::string describeHolders(const std::vector<SocketHolder> &holders);

} // namespace pisock
