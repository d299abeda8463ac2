#include "stats.h"

#include <ctime>
#include <string_view>

#include <fmt/format.h>

#include "common/safe_text.h"
#include "common/units.h"

namespace pisock {

namespace {

// Local time for people: "18:30:05", with the date when it is not today.
std::string localTime(std::int64_t unix, std::int64_t nowUnix)
{
    const auto t = static_cast<std::time_t>(unix);
    const auto now = static_cast<std::time_t>(nowUnix);
    std::tm tm{};
    std::tm today{};
    if (!::localtime_r(&t, &tm) || !::localtime_r(&now, &today))
        return "?";
    char text[32];
    const bool sameDay = tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday;
    const std::size_t n =
            std::strftime(text, sizeof(text), sameDay ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
    return std::string(text, n);
}

// ISO 8601 in UTC for programs: "2026-12-07T18:30:05Z".
std::string utcTime(std::int64_t unix)
{
    const auto t = static_cast<std::time_t>(unix);
    std::tm tm{};
    if (!::gmtime_r(&t, &tm))
        return "";
    char text[32];
    const std::size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(text, n);
}

// A JSON string: the text made safe as every log line is (valid UTF-8, no control character
// but tab), then quoted.
std::string jsonString(std::string_view text)
{
    std::string out = "\"";
    for (const char c : escapeText(text)) {
        if (c == '"' || c == '\\')
            out += '\\';
        if (c == '\t')
            out += "\\t";
        else
            out += c;
    }
    out += '"';
    return out;
}

// A Prometheus label value: backslash, double quote and newline escaped.
std::string labelValue(std::string_view text)
{
    std::string out;
    for (const char c : escapeText(text)) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out;
}

std::string kib(std::size_t bytes)
{
    return fmt::format("{} KiB", (bytes + kKiB - 1) / kKiB);
}

void appendClientLine(std::string &out, const ClientStats &c, std::int64_t nowUnix)
{
    fmt::format_to(std::back_inserter(out),
                   "{:>6} {:<22} {:<22} {:<10} {:>10} {:>10} {:>8} {:>8} {}\n", c.id,
                   escapeText(c.peer), escapeText(c.name), localTime(c.sinceUnix, nowUnix),
                   c.bytesIn, c.bytesOut, c.messages, c.pendingOutput, c.state);
}

} // namespace

std::string formatUptime(std::uint64_t ms)
{
    const std::uint64_t s = ms / 1000;
    if (s >= 86400)
        return fmt::format("{}d {:02}h {:02}m", s / 86400, s % 86400 / 3600, s % 3600 / 60);
    if (s >= 3600)
        return fmt::format("{}h {:02}m {:02}s", s / 3600, s % 3600 / 60, s % 60);
    if (s >= 60)
        return fmt::format("{}m {:02}s", s / 60, s % 60);
    return fmt::format("{}s", s);
}

std::string formatStatsText(const StatsSnapshot &s)
{
    const std::int64_t nowUnix = s.startUnix + static_cast<std::int64_t>(s.uptimeMs / 1000);
    std::string out;
    auto put = std::back_inserter(out);
    fmt::format_to(put, "pisockd {}, pid {}, up {} (since {})\n", s.version, s.pid,
                   formatUptime(s.uptimeMs), localTime(s.startUnix, nowUnix));
    fmt::format_to(put, "mode: {}, {} framing{}\n", s.mode, s.framing,
                   s.stopping ? " (stopping)" : "");
    fmt::format_to(put, "clients: {} now, at most {}\n", s.clientsNow, s.maxConnections);
    fmt::format_to(put,
                   "totals: {} served, {} refused, {} denied, {} timed out, {} out of memory\n",
                   s.served, s.refused, s.denied, s.timedOut, s.outOfMemory);
    fmt::format_to(put, "messages: {}, {} dropped; {} bytes in, {} bytes out\n", s.messages,
                   s.dropped, s.bytesIn, s.bytesOut);
    fmt::format_to(put, "memory: {} in use of {} (peak {}){}\n", kib(s.memoryUsed),
                   kib(s.memoryLimit), kib(s.memoryPeak), s.memoryPressure ? ", short" : "");
    if (s.clients.empty())
        return out;
    fmt::format_to(put, "\n{:>6} {:<22} {:<22} {:<10} {:>10} {:>10} {:>8} {:>8} {}\n", "ID", "PEER",
                   "NAME", "SINCE", "IN", "OUT", "MSGS", "PENDING", "STATE");
    for (const ClientStats &c : s.clients)
        appendClientLine(out, c, nowUnix);
    if (s.clientsNow > s.clients.size())
        fmt::format_to(put, "({} more not listed)\n", s.clientsNow - s.clients.size());
    return out;
}

std::string formatStatsJson(const StatsSnapshot &s)
{
    std::string out;
    auto put = std::back_inserter(out);
    fmt::format_to(put,
                   "{{\"version\":{},\"pid\":{},\"start\":\"{}\",\"uptime_seconds\":{},"
                   "\"mode\":\"{}\",\"framing\":\"{}\",\"stopping\":{},"
                   "\"max_connections\":{},\"clients_now\":{},",
                   jsonString(s.version), s.pid, utcTime(s.startUnix), s.uptimeMs / 1000, s.mode,
                   s.framing, s.stopping, s.maxConnections, s.clientsNow);
    fmt::format_to(put,
                   "\"totals\":{{\"served\":{},\"refused\":{},\"denied\":{},\"timed_out\":{},"
                   "\"out_of_memory\":{},\"messages\":{},\"dropped\":{},\"bytes_in\":{},"
                   "\"bytes_out\":{}}},",
                   s.served, s.refused, s.denied, s.timedOut, s.outOfMemory, s.messages, s.dropped,
                   s.bytesIn, s.bytesOut);
    fmt::format_to(put,
                   "\"memory\":{{\"used_bytes\":{},\"peak_bytes\":{},\"limit_bytes\":{},"
                   "\"short\":{}}},\"clients\":[",
                   s.memoryUsed, s.memoryPeak, s.memoryLimit, s.memoryPressure);
    const char *sep = "";
    for (const ClientStats &c : s.clients) {
        fmt::format_to(put,
                       "{}{{\"id\":{},\"peer\":{},\"name\":{},\"since\":\"{}\","
                       "\"connected_seconds\":{},\"bytes_in\":{},\"bytes_out\":{},"
                       "\"messages\":{},\"dropped\":{},\"pending_output\":{},\"state\":{}}}",
                       sep, c.id, jsonString(c.peer), jsonString(c.name), utcTime(c.sinceUnix),
                       c.connectedMs / 1000, c.bytesIn, c.bytesOut, c.messages, c.dropped,
                       c.pendingOutput, jsonString(c.state));
        sep = ",";
    }
    fmt::format_to(put, "],\"clients_listed\":{}}}\n", s.clients.size());
    return out;
}

std::string formatStatsPrometheus(const StatsSnapshot &s, const std::string &daemon)
{
    const std::string label = "{daemon=\"" + labelValue(daemon) + "\"}";
    std::string out;
    auto put = std::back_inserter(out);
    auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                      auto value) {
        fmt::format_to(put, "# HELP pisockd_{} {}\n# TYPE pisockd_{} {}\npisockd_{}{} {}\n", name,
                       help, name, type, name, label, value);
    };
    fmt::format_to(put,
                   "# HELP pisockd_info The running pisockd: version and mode.\n"
                   "# TYPE pisockd_info gauge\n"
                   "pisockd_info{{daemon=\"{}\",version=\"{}\",mode=\"{}\",framing=\"{}\"}} 1\n",
                   labelValue(daemon), labelValue(s.version), s.mode, s.framing);
    metric("start_time_seconds", "gauge", "Start time of the daemon, seconds since the epoch.",
           s.startUnix);
    metric("clients", "gauge", "Clients connected now.", s.clientsNow);
    metric("max_connections", "gauge", "The max-connections setting.", s.maxConnections);
    metric("clients_served_total", "counter", "Clients accepted and served.", s.served);
    metric("clients_refused_total", "counter",
           "Clients refused: busy, max-per-host or memory short.", s.refused);
    metric("clients_denied_total", "counter", "Clients denied by allow and deny.", s.denied);
    metric("clients_timed_out_total", "counter", "Clients closed by the idle timeout.", s.timedOut);
    metric("clients_out_of_memory_total", "counter",
           "Clients closed or refused for lack of memory.", s.outOfMemory);
    metric("messages_total", "counter", "Messages received from clients.", s.messages);
    metric("messages_dropped_total", "counter",
           "Broadcast messages dropped for clients that could not keep up.", s.dropped);
    metric("received_bytes_total", "counter", "Bytes received from clients.", s.bytesIn);
    metric("sent_bytes_total", "counter", "Bytes sent to clients.", s.bytesOut);
    metric("memory_used_bytes", "gauge", "Memory held by client buffers and queues.", s.memoryUsed);
    metric("memory_peak_bytes", "gauge", "Most memory held by client buffers and queues.",
           s.memoryPeak);
    metric("memory_limit_bytes", "gauge", "The memory-limit setting.", s.memoryLimit);
    return out;
}

} // namespace pisock
