// The server's live stats: the snapshot, the control socket's answers and the metrics file.

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "common/errors.h"
#include "log.h"
#include "server.h"
#include "version.h"

namespace pisock {

namespace {

constexpr std::uint64_t kMetricsPeriodMs = 15000; // node_exporter's textfile collector

std::string clientState(const Connection &c)
{
    std::string state;
    switch (c.state()) {
    case ConnState::Open:
        state = "open";
        break;
    case ConnState::PeerClosed:
        state = "peer closed";
        break;
    case ConnState::Flushing:
        state = "flushing";
        break;
    case ConnState::Lingering:
        state = "lingering";
        break;
    case ConnState::Closed:
        state = "closed";
        break;
    }
    if (c.waitingForMemory())
        state += ", waiting for memory";
    else if (c.readPaused())
        state += ", paused";
    return state;
}

// Writes text to path by a rename, so that a reader sees the old file or the new one, never
// half of one: node_exporter's textfile collector reads only "*.prom", not "*.prom.tmp".
// Readable by all (node_exporter runs as its own user), whatever the umask. 0 or an errno.
int replaceFile(const std::string &path, std::string_view text) noexcept
{
    std::string tmp;
    try {
        tmp = path + ".tmp";
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
    const UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd)
        return errno;
    int err = ::fchmod(fd.get(), 0644) == 0 ? 0 : errno;
    for (std::size_t done = 0; err == 0 && done < text.size();) {
        const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno != EINTR)
            err = errno;
        else if (n > 0)
            done += static_cast<std::size_t>(n);
    }
    if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0)
        err = errno;
    if (err != 0)
        ::unlink(tmp.c_str());
    return err;
}

// "pisockd-2" for /var/lib/prometheus/node-exporter/pisockd-2.prom.
std::string daemonLabel(std::string_view path)
{
    if (const auto slash = path.rfind('/'); slash != std::string_view::npos)
        path.remove_prefix(slash + 1);
    if (path.ends_with(".prom"))
        path.remove_suffix(5);
    return std::string(path);
}

} // namespace

StatsSnapshot Server::snapshot() const
{
    const std::uint64_t now = loop_.now();
    StatsSnapshot s;
    s.version = kVersion;
    s.pid = static_cast<long>(::getpid());
    s.startUnix = startedUnix_;
    s.uptimeMs = now - startedMs_;
    s.mode = std::string(modeName(settings_.mode));
    s.framing = settings_.framing == Framing::Raw ? "raw" : "line";
    s.stopping = stopping_;
    s.maxConnections = settings_.maxConnections;
    s.clientsNow = connections_.size();
    s.served = served_;
    s.refused = busyRefused_;
    s.denied = denied_;
    s.timedOut = timedOut_;
    s.outOfMemory = oomClosed_;
    s.messages = messages_;
    s.dropped = droppedClosed_;
    s.bytesIn = bytesInClosed_;
    s.bytesOut = bytesOutClosed_;
    for (const auto &[id, conn] : connections_) {
        s.messages += conn->messages();
        s.dropped += conn->dropped();
        s.bytesIn += conn->bytesIn();
        s.bytesOut += conn->bytesOut();
    }
    s.memoryUsed = memory_.used();
    s.memoryPeak = memory_.peak();
    s.memoryLimit = memory_.limit();
    s.memoryPressure = memory_.pressure();
    return s;
}

std::string Server::answerControl(std::string_view command) const
{
    const bool json = command == "stats json";
    if (command != "stats" && !json)
        return "error: unknown command (stats, stats json)\n";
    StatsSnapshot s = snapshot();
    // The oldest clients first, up to the cap: the answer stays bounded.
    std::vector<const Connection *> listed;
    listed.reserve(std::min(connections_.size(), StatsSnapshot::kMaxListed));
    for (const auto &[id, conn] : connections_)
        listed.push_back(conn.get());
    std::sort(listed.begin(), listed.end(),
              [](const Connection *a, const Connection *b) { return a->id() < b->id(); });
    if (listed.size() > StatsSnapshot::kMaxListed)
        listed.resize(StatsSnapshot::kMaxListed);
    const std::uint64_t now = loop_.now();
    s.clients.reserve(listed.size());
    for (const Connection *c : listed) {
        ClientStats &cs = s.clients.emplace_back();
        cs.id = c->id();
        cs.peer = c->peer();
        // The name broadcast lines give it; outside a broadcast room, its peer.
        const std::string_view roomName = c->roomName();
        cs.name = roomName.empty() ? c->peer() : std::string(roomName);
        cs.connectedMs = now - c->startedMs();
        cs.sinceUnix =
                s.startUnix + static_cast<std::int64_t>((c->startedMs() - startedMs_) / 1000);
        cs.bytesIn = c->bytesIn();
        cs.bytesOut = c->bytesOut();
        cs.messages = c->messages();
        cs.dropped = c->dropped();
        cs.pendingOutput = c->pendingOutput();
        cs.state = clientState(*c);
    }
    return json ? formatStatsJson(s) : formatStatsText(s);
}

void Server::openControl() noexcept
{
    const std::string &path = settings_.controlSocket;
    if (path.empty())
        return;
    try {
        control_.open(path);
        log::info("control socket {} (pisockd --stats)", path);
    } catch (const std::system_error &e) {
        // Outside the service (no /run/pisockd) the default place is simply not there.
        const bool quiet = path == kDefaultControlSocket && e.code().value() == ENOENT;
        log::at(quiet ? log::Level::Debug : log::Level::Warning, nullptr,
                "no control socket, pisockd --stats will not answer: {}", e.what());
    } catch (const std::exception &e) {
        log::warning("no control socket, pisockd --stats will not answer: {}", e.what());
    }
}

void Server::writeMetrics(std::uint64_t now, bool force) noexcept
{
    const std::string &path = settings_.metricsFile;
    if (path.empty() || (!force && lastMetricsMs_ != 0 && now - lastMetricsMs_ < kMetricsPeriodMs))
        return;
    lastMetricsMs_ = now;
    int err = 0;
    try {
        err = replaceFile(path, formatStatsPrometheus(snapshot(), daemonLabel(path)));
    } catch (const std::bad_alloc &) {
        err = ENOMEM;
    }
    if ((err != 0) != metricsFailed_) {
        metricsFailed_ = err != 0;
        if (metricsFailed_)
            log::warning("cannot write metrics file {}: {}; trying again every 15 s", path,
                         errnoText(err));
        else
            log::notice("metrics file {} written again", path);
    }
}

} // namespace pisock
