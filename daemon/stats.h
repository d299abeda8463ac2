#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pisock {

// One client as the live stats show it.
struct ClientStats {
    std::uint64_t id = 0;
    std::string peer; // the address, as the log names it
    std::string name; // the name the connection goes by (broadcast lines); the peer until named
    std::int64_t sinceUnix = 0; // when it connected, seconds since the epoch
    std::uint64_t connectedMs = 0;
    std::uint64_t bytesIn = 0;
    std::uint64_t bytesOut = 0;
    std::uint64_t messages = 0;
    std::uint64_t dropped = 0; // broadcast messages it lost
    std::size_t pendingOutput = 0; // bytes owed to it
    std::string state; // "open", "peer closed", ... with ", paused" when reading is paused
};

// The daemon's counters at one instant, for the control socket and the metrics file. Plain
// values: the server fills it, the functions below print it.
struct StatsSnapshot {
    std::string version;
    long pid = 0;
    std::int64_t startUnix = 0; // seconds since the epoch
    std::uint64_t uptimeMs = 0;
    std::string mode; // "reply", "echo", "broadcast"
    std::string framing; // "line", "raw"
    bool stopping = false;
    std::size_t maxConnections = 0;
    std::size_t clientsNow = 0; // may be more than clients.size(): the list is capped
    std::vector<ClientStats> clients; // by id, at most kMaxListed
    // Since the start: clients served (accepted), refused (busy, per-host, memory), denied
    // (allow/deny), closed for being idle, closed for lack of memory; messages, broadcast
    // messages dropped, and bytes, of all clients (those gone and those here).
    std::uint64_t served = 0;
    std::uint64_t refused = 0;
    std::uint64_t denied = 0;
    std::uint64_t timedOut = 0;
    std::uint64_t outOfMemory = 0;
    std::uint64_t messages = 0;
    std::uint64_t dropped = 0;
    std::uint64_t bytesIn = 0;
    std::uint64_t bytesOut = 0;
    std::size_t memoryUsed = 0;
    std::size_t memoryPeak = 0;
    std::size_t memoryLimit = 0;
    bool memoryPressure = false;

    // The most clients listed one by one: bounds the answer (about 200 bytes each).
    static constexpr std::size_t kMaxListed = 1000;
};

// For people: a summary, then one line per client.
std::string formatStatsText(const StatsSnapshot &s);
// One JSON object (one line and a newline), the same fields as the text.
std::string formatStatsJson(const StatsSnapshot &s);
// Prometheus text exposition format (0.0.4): the counters and gauges, no client list; every
// sample is labelled daemon="<daemon>" so that several instances' files stay apart.
std::string formatStatsPrometheus(const StatsSnapshot &s, const std::string &daemon);

// "1h 02m 03s", "5m 00s", "42s".
std::string formatUptime(std::uint64_t ms);

} // namespace pisock
